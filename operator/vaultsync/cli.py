"""The ``vaultsync`` command: one entry point for the operator and its tools.

``kubectl-vaultsync`` is the same command as a kubectl plugin (``kubectl vaultsync approvals``).
The development command ``crds`` works but is not listed in the help: it is for a checkout of the
repository. The local stack of real servers is not part of the product: it is the separate
development package ``vaultsync_devstack`` (``vaultsync-devstack``, run by ``scripts/dev``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vaultsync import cli_approvals, cli_env, cli_status, cli_where_used

DEVELOPMENT_COMMANDS = ("crds",)


def _parser(prog: str = "vaultsync") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Keeps one logical secret consistent across vaults (Kubernetes operator)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the operator against the current kubeconfig")
    run.add_argument(
        "--namespace", action="append", default=[], help="watch only this namespace (repeatable)"
    )
    run.add_argument("--standalone", action="store_true", help="no peering with other replicas")
    run.add_argument("--liveness", default=None, help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    run.add_argument(
        "--skip-preflight",
        action="store_true",
        help="start without checking the namespace, CRDs and RBAC first",
    )
    # Added without ``help``: argparse then leaves them out of the command list.
    sub.add_parser("crds", description="write the CRD YAML files of crds/ from the Python models")
    cli_where_used.add_parser(sub)
    cli_status.add_parser(sub)
    cli_approvals.add_parsers(sub)
    cli_env.add_parsers(sub)
    sub.metavar = "{" + ",".join(c for c in sub.choices if c not in DEVELOPMENT_COMMANDS) + "}"
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "vaultsync") -> int:
    args = _parser(prog).parse_args(argv)
    if args.command == "run":
        from vaultsync.operator_main import run_operator  # noqa: PLC0415

        return run_operator(
            namespaces=args.namespace,
            standalone=args.standalone,
            liveness=args.liveness,
            preflight=not args.skip_preflight,
        )
    if args.command in {"approvals", "approve", "reject"}:
        return cli_approvals.run(args)
    if args.command in {"import-env", "export-env"}:
        return cli_env.run(args, sys.stdout, sys.stderr)
    if args.command == "status":
        return cli_status.run(args, sys.stdout, sys.stderr)
    if args.command == "where-used":
        return cli_where_used.run(args, sys.stdout, sys.stderr)
    if args.command == "crds":
        from vaultsync.api.render import main as render_crds  # noqa: PLC0415

        render_crds()
        return 0
    return 2


def kubectl_plugin() -> int:
    """``kubectl vaultsync ...``: kubectl finds ``kubectl-vaultsync`` on PATH and runs it."""
    return main(prog="kubectl vaultsync")


if __name__ == "__main__":
    sys.exit(main())
