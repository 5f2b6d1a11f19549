"""``vaultsync approvals | approve | reject``: decide on ApprovalRequests as yourself.

The commands act with the identity of the current kubeconfig; the admission webhook stamps
that identity on the decision and refuses it when policy says no. Its refusal is shown as a
plain sentence (not an approver, already decided, expired, self-approval).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from vaultsync.api.names import APPROVAL_REQUESTS, GROUP, VERSION

PLURAL = APPROVAL_REQUESTS
DENIED_MARKER = "denied the request: "
JSON_PATCH = "application/json-patch+json"


class DecisionRefused(Exception):
    """The decision was not recorded; the message says why, for people."""


def add_parsers(sub: Any) -> None:
    """Adds the three subcommands to the ``vaultsync`` parser."""
    listing = sub.add_parser("approvals", help="list pending ApprovalRequests")
    _common(listing)
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="list in every namespace")
    listing.add_argument("--all", action="store_true", help="include decided requests (the audit trail)")
    approve = sub.add_parser("approve", help="approve an ApprovalRequest as the current kubeconfig user")
    _common(approve)
    approve.add_argument("name", help="the ApprovalRequest")
    approve.add_argument("--comment", default=None, help="why, for the audit trail")
    reject = sub.add_parser("reject", help="reject an ApprovalRequest as the current kubeconfig user")
    _common(reject)
    reject.add_argument("name", help="the ApprovalRequest")
    reject.add_argument("--reason", required=True, help="why the change is rejected")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-n", "--namespace", default=None, help="namespace (default: the kubeconfig context's)"
    )
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from kubernetes import config  # noqa: PLC0415 - keeps `vaultsync --help` fast
    from kubernetes.client.rest import ApiException  # noqa: PLC0415

    api_client = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    namespace = args.namespace or _context_namespace(args.kubeconfig, args.context)
    try:
        if args.command == "approvals":
            items = list_requests(
                api_client, None if args.all_namespaces else namespace, pending_only=not args.all
            )
            out.write(format_table(items, datetime.now(UTC), all_namespaces=args.all_namespaces))
            return 0
        decision, comment = (
            ("Approve", args.comment) if args.command == "approve" else ("Reject", args.reason)
        )
        add_decision(api_client, namespace, args.name, decision, comment)
    except DecisionRefused as e:
        err.write(f"error: {e}\n")
        return 1
    except ApiException as e:  # e.g. listing without RBAC: say why, no traceback
        err.write(f"error: {refusal_message(e)}\n")
        return 1
    verb = "approved" if args.command == "approve" else "rejected"
    out.write(f"ApprovalRequest {namespace}/{args.name} {verb}\n")
    return 0


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    from kubernetes import config  # noqa: PLC0415

    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except config.ConfigException:
        return "default"
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def list_requests(
    api_client: Any, namespace: str | None, *, pending_only: bool = True
) -> list[dict[str, Any]]:
    from kubernetes import client  # noqa: PLC0415

    custom = client.CustomObjectsApi(api_client)
    if namespace:
        listed = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    else:
        listed = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    items = [dict(i) for i in listed.get("items", [])]
    if pending_only:
        items = [i for i in items if ((i.get("status") or {}).get("phase") or "Pending") == "Pending"]
    return sorted(
        items, key=lambda i: (i["metadata"]["namespace"], i["metadata"].get("creationTimestamp", ""))
    )


def describe_summary(summary: Mapping[str, Any] | None) -> str:
    """``+added -removed ~changed`` key names and the source move, never values."""
    summary = summary or {}
    parts = [f"+{k}" for k in summary.get("keysAdded") or []]
    parts += [f"-{k}" for k in summary.get("keysRemoved") or []]
    parts += [f"~{k}" for k in summary.get("keysChanged") or []]
    if summary.get("newSource"):
        old, new = summary.get("oldSource") or {}, summary["newSource"]
        parts.append(f"source {_source(old) or '?'} -> {_source(new)}")
    return " ".join(parts) or "-"


def _source(source: Mapping[str, Any]) -> str:
    profile = source.get("vaultProfile") or {}
    name = profile.get("name", "") if isinstance(profile, Mapping) else str(profile)
    return f"{name}:{source.get('path', '')}" if source else ""


def age(created: str | None, now: datetime) -> str:
    if not created:
        return "-"
    seconds = int((now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def format_table(items: Sequence[Mapping[str, Any]], now: datetime, *, all_namespaces: bool = False) -> str:
    if not items:
        return "No pending ApprovalRequests.\n"
    header = ["NAME", "SECRET", "OPERATION", "PHASE", "APPROVALS", "REQUESTED BY", "AGE", "SUMMARY"]
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    rows = [header]
    for item in items:
        meta, spec, status = item["metadata"], item.get("spec") or {}, item.get("status") or {}
        row = [
            meta["name"],
            spec.get("managedSecret", ""),
            spec.get("operation", ""),
            status.get("phase") or "Pending",
            str(status.get("approvals") or 0),
            spec.get("requestedBy") or "-",
            age(meta.get("creationTimestamp"), now),
            describe_summary(spec.get("summary")),
        ]
        rows.append([meta["namespace"], *row] if all_namespaces else row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines) + "\n"


def add_decision(api_client: Any, namespace: str, name: str, decision: str, comment: str | None) -> None:
    """Appends one decision; raises ``DecisionRefused`` with a plain reason when it is not recorded."""
    from kubernetes import client  # noqa: PLC0415
    from kubernetes.client.rest import ApiException  # noqa: PLC0415

    custom = client.CustomObjectsApi(api_client)
    try:
        request = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as e:
        if e.status == 404:
            raise DecisionRefused(f"ApprovalRequest {namespace}/{name} not found") from e
        raise DecisionRefused(refusal_message(e)) from e
    phase = (request.get("status") or {}).get("phase") or "Pending"
    if phase != "Pending":
        raise DecisionRefused(f"ApprovalRequest {name} is already {phase}; it takes no more decisions")
    entry: dict[str, Any] = {"decision": decision}
    if comment:
        entry["comment"] = comment
    patch: list[dict[str, Any]]
    if (request.get("spec") or {}).get("decisions"):
        patch = [{"op": "add", "path": "/spec/decisions/-", "value": entry}]
    else:
        patch = [{"op": "add", "path": "/spec/decisions", "value": [entry]}]
    try:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, patch, _content_type=JSON_PATCH
        )
    except ApiException as e:
        raise DecisionRefused(refusal_message(e)) from e


def refusal_message(error: Any) -> str:
    """The admission webhook's own sentence out of the apiserver's error, else a short summary."""
    try:
        message = str(json.loads(error.body or "{}").get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    if DENIED_MARKER in message:
        return message.split(DENIED_MARKER, 1)[1]
    if getattr(error, "status", None) == 403 and "forbidden" in message:
        return f"not allowed by RBAC: {message}"
    if "failed calling webhook" in message:
        return "the vaultsync admission webhook is unavailable; decisions are refused until it is back"
    return message or f"HTTP {getattr(error, 'status', '?')}"
