"""moto's Secrets Manager, served with connections kept alive like the real AWS endpoints.

``moto_server`` runs werkzeug's development server, which closes the connection after every
response and then waits 10 ms for stray request bytes. Every call of the operator and of the
benchmarks then paid a new TCP connection and that wait, which no real endpoint costs (the
operator's pools keep their connections), and the access line of each request filled moto's log.
This serves the same moto application with waitress: HTTP/1.1 keep-alive and a fixed pool of
threads, which answer one request at a time: moto's Secrets Manager store is not thread-safe (its
``in`` walks every secret while another thread adds one, "dictionary changed size during
iteration"), and at 10,000 secrets one call in twenty failed with HTTP 500 under parallel calls.

Run: ``python -m vaultsync_devstack.moto_server --host 127.0.0.1 --port 15000``.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

THREADS = 16

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def one_at_a_time(app: Wsgi) -> Wsgi:
    """``app`` behind a lock held until its whole answer is produced."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialized


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs of its answers from it
    app = one_at_a_time(DomainDispatcherApplication(create_backend_app))
    waitress.serve(app, host=args.host, port=args.port, threads=THREADS, ident="moto", _quiet=True)


if __name__ == "__main__":
    main()
