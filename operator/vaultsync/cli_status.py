"""``vaultsync status``: is the operator syncing? Leader, queue depth, the oldest overdue check,
failing backends.

The leader comes from the Lease in the apiserver (who holds it, renewed how long ago); the
rest from each replica's metrics endpoint (``--metrics URL``, repeatable). A replica that
cannot be reached is reported as such, and the exit code is 1 when nothing leads, no
replica answered, or a backend is down.
"""

from __future__ import annotations

import argparse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

GAUGES = (
    "vaultsync_leader",
    "vaultsync_queue_depth",
    "vaultsync_oldest_overdue_seconds",
    "vaultsync_last_sync_progress_timestamp_seconds",
)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("status", help="leader, queue depth, oldest overdue check, failing backends")
    parser.add_argument("--namespace", default="vaultsync-system", help="the operator's namespace")
    parser.add_argument("--lease", default="vaultsync-leader", help="name of the leader Lease")
    parser.add_argument("--metrics", action="append", default=[], help="a replica's metrics URL (repeatable)")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file")
    parser.add_argument("--context", default=None, help="kubeconfig context")


def scrape(text: str) -> tuple[dict[str, float], dict[str, bool]]:
    """The status gauges and ``vaultsync_backend_up`` per profile, from a metrics page."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    gauges: dict[str, float] = {}
    backends: dict[str, bool] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in GAUGES:
                gauges[sample.name] = sample.value
            elif sample.name == "vaultsync_backend_up":
                backends[sample.labels["profile"]] = sample.value >= 1
    return gauges, backends


def _lease(args: argparse.Namespace) -> Mapping[str, Any] | None:
    from kubernetes import client, config  # noqa: PLC0415

    api_client = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    try:
        lease = client.CoordinationV1Api(api_client).read_namespaced_lease(args.lease, args.namespace)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return {"holder": lease.spec.holder_identity, "renewed": lease.spec.renew_time}


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    healthy = True
    lease = _lease(args)
    if lease is None or not lease.get("holder"):
        out.write(f"leader: none (Lease {args.namespace}/{args.lease} has no holder)\n")
        healthy = False
    else:
        renewed = lease["renewed"]
        ago = (datetime.now(UTC) - renewed).total_seconds() if renewed else float("nan")
        out.write(f"leader: {lease['holder']} (renewed {ago:.0f}s ago)\n")
    answered = 0
    for url in args.metrics:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - an operator URL
                gauges, backends = scrape(response.read().decode())
        except OSError as e:
            err.write(f"{url}: unreachable ({e})\n")
            continue
        answered += 1
        failing = sorted(name for name, up in backends.items() if not up)
        healthy = healthy and not failing
        progress = gauges.get("vaultsync_last_sync_progress_timestamp_seconds", 0.0)
        since = f"{datetime.now(UTC).timestamp() - progress:.0f}s ago" if progress else "never"
        out.write(
            f"{url}: leading={'yes' if gauges.get('vaultsync_leader') else 'no'}"
            f" queue={gauges.get('vaultsync_queue_depth', 0):.0f}"
            f" oldest-overdue={gauges.get('vaultsync_oldest_overdue_seconds', 0):.1f}s"
            f" last-progress={since}"
            f" failing-backends={','.join(failing) or 'none'}\n"
        )
    if args.metrics and not answered:
        healthy = False
    return 0 if healthy else 1
