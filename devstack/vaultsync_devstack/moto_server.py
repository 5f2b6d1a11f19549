"""moto's Secrets Manager, served with connections kept alive like the real AWS endpoints.

``moto_server`` runs werkzeug's development server, which closes the connection after every
response and then waits 10 ms for stray request bytes. Every call of the operator and of the
benchmarks then paid a new TCP connection and that wait, which no real endpoint costs (the
operator's pools keep their connections), and the access line of each request filled moto's log.
This serves the same moto application with waitress: HTTP/1.1 keep-alive and a fixed pool of
threads.

Run: ``python -m vaultsync_devstack.moto_server --host 127.0.0.1 --port 15000``.
"""

from __future__ import annotations

import argparse
import os

import waitress
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

THREADS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs of its answers from it
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(app, host=args.host, port=args.port, threads=THREADS, ident="moto", _quiet=True)


if __name__ == "__main__":
    main()
