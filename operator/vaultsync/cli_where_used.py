"""``vaultsync where-used NAME``: the workloads that use a ManagedSecret's Kubernetes Secrets.

"See where a secret is used before changing it": prints ``status.consumers`` as the operator
keeps it (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and bare Pods that read one of
the Secrets through env, envFrom or a volume), one line per (workload, Secret).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from vaultsync.api.names import GROUP, MANAGED_SECRETS, VERSION

PLURAL = MANAGED_SECRETS
COLUMNS = ("KIND", "NAMESPACE", "NAME", "SECRET")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "where-used", help="list the workloads that use a ManagedSecret's Kubernetes Secrets"
    )
    parser.add_argument("name", help="the ManagedSecret")
    parser.add_argument(
        "-n", "--namespace", default=None, help="namespace (default: the kubeconfig context's)"
    )
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context")


def format_consumers(consumers: Sequence[Mapping[str, Any]]) -> str:
    """A table like ``kubectl get``: one row per consumer, columns sized to their content."""
    table = [COLUMNS, *(tuple(str(c.get(k.lower(), "")) for k in COLUMNS) for c in consumers)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return "".join(
        "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in table
    )


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    from kubernetes import config  # noqa: PLC0415 - only this command needs the client

    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from kubernetes import client, config  # noqa: PLC0415

    api_client = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    namespace = args.namespace or _context_namespace(args.kubeconfig, args.context)
    try:
        body = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, args.name
        )
    except client.ApiException as e:
        if e.status == 404:
            err.write(f"ManagedSecret {namespace}/{args.name} not found\n")
            return 1
        err.write(f"reading ManagedSecret {namespace}/{args.name} failed: HTTP {e.status} {e.reason}\n")
        return 1
    consumers = (body.get("status") or {}).get("consumers") or []
    if not consumers:
        out.write(f"no workload uses the Kubernetes Secrets of ManagedSecret {namespace}/{args.name}\n")
        return 0
    out.write(format_consumers(consumers))
    return 0
