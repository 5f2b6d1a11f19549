"""The status of a ManagedSecret, assembled from the outcome of one sync.

Pure: it takes the previous status and what happened, and returns the next status. The
handler patches only the difference (see ``conditions.status_patch``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vaultsync.api.managedsecret_status import Phase as Phase
from vaultsync.api.managedsecret_status import TargetState as TargetState
from vaultsync.reconcile.conditions import FALSE, TRUE, set_condition
from vaultsync.reconcile.targets import TargetKey, TargetKind


class Reason(StrEnum):
    """Condition reasons: constants, so alerts and health checks can match them."""

    SYNCED = "Synced"
    TARGETS_FAILED = "TargetsFailed"
    SOURCE_UNAVAILABLE = "SourceUnavailable"
    SOURCE_NOT_FOUND = "SourceNotFound"
    INVALID_CONTENT = "InvalidContent"
    INVALID_SPEC = "InvalidSpec"
    """The spec passed the installed CRD but does not fit the operator's model (``ModelError``)."""
    PROFILE_NOT_READY = "ProfileNotReady"
    PROFILE_NOT_ALLOWED = "ProfileNotAllowed"
    NON_COMPLIANT = "NonCompliant"
    COMPLIANT = "Compliant"
    AUDIT_FINDINGS = "AuditFindings"
    NO_RULES = "NoRules"
    APPROVAL_NOT_REQUIRED = "NotRequired"
    APPROVAL_PENDING = "ApprovalPending"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    INACTIVE = "Inactive"
    TEMPLATE_FAILED = "TemplateFailed"
    NAMESPACE_BOUNDARY = "NamespaceBoundary"
    ACCESS_DENIED = "AccessDenied"
    UNAVAILABLE = "Unavailable"
    """A vault or the API server failed in a step that has no more precise reason (an outage)."""


@dataclass(frozen=True)
class TargetOutcome:
    key: TargetKey
    state: TargetState
    fingerprint: str | None = None
    version: str | None = None
    synced_at: str | None = None
    message: str | None = None


def target_entry(outcome: TargetOutcome, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``status.targets[]`` item; ``syncedAt`` is kept when the target did not change."""
    key = outcome.key
    entry: dict[str, Any] = {"kind": str(key.kind), "path": key.path, "state": str(outcome.state)}
    if key.kind is TargetKind.VAULT:
        entry["vaultProfile"] = str(key.profile)
    else:
        entry["namespace"] = key.namespace
        entry["name"] = key.path
    synced_at = outcome.synced_at or (previous or {}).get("syncedAt")
    optional = {
        "fingerprint": outcome.fingerprint,
        "version": outcome.version,
        "syncedAt": synced_at,
        "message": outcome.message,
    }
    entry.update({k: v for k, v in optional.items() if v is not None})
    return entry


def entry_id(entry: Mapping[str, Any]) -> str:
    if entry.get("kind") == TargetKind.VAULT:
        return f"vault:{entry.get('vaultProfile')}:{entry.get('path')}"
    return f"secret:{entry.get('namespace')}/{entry.get('name')}"


def target_entries(
    previous: Sequence[Mapping[str, Any]], outcomes: Sequence[TargetOutcome]
) -> list[dict[str, Any]]:
    by_id = {entry_id(e): e for e in previous}
    return [target_entry(o, by_id.get(o.key.id)) for o in outcomes]


@dataclass(frozen=True)
class SyncReport:
    """Everything the status of one sync depends on."""

    phase: Phase
    ready_reason: Reason
    ready_message: str
    now: str
    generation: int | None
    targets: Sequence[TargetOutcome] = ()
    compliance: tuple[str, Reason, str] | None = None
    """(status, reason, message) of the Compliant condition, when evaluated."""
    approval: tuple[str, Reason, str] | None = None
    """(status, reason, message) of the Approved condition."""


def next_status(previous: Mapping[str, Any], report: SyncReport, **fields: Any) -> dict[str, Any]:
    """The new status: previous fields kept, the report applied, ``fields`` set (None removes)."""
    status = dict(previous)
    status["phase"] = str(report.phase)
    if report.generation is not None:
        status["observedGeneration"] = report.generation
    conditions = list(previous.get("conditions") or [])
    ready = report.phase is Phase.SYNCED
    conditions = set_condition(
        conditions,
        "Ready",
        TRUE if ready else FALSE,
        str(report.ready_reason),
        report.ready_message,
        now=report.now,
        generation=report.generation,
    )
    if report.targets:
        failed = [o for o in report.targets if o.state is not TargetState.SYNCED]
        conditions = set_condition(
            conditions,
            "Synced",
            FALSE if failed else TRUE,
            str(Reason.TARGETS_FAILED if failed else Reason.SYNCED),
            _targets_message(failed, len(report.targets)),
            now=report.now,
            generation=report.generation,
        )
        status["targets"] = target_entries(previous.get("targets") or [], report.targets)
    if report.compliance is not None:
        c_status, c_reason, c_message = report.compliance
        conditions = set_condition(
            conditions,
            "Compliant",
            c_status,
            str(c_reason),
            c_message,
            now=report.now,
            generation=report.generation,
        )
    if report.approval is not None:
        a_status, a_reason, a_message = report.approval
        conditions = set_condition(
            conditions,
            "Approved",
            a_status,
            str(a_reason),
            a_message,
            now=report.now,
            generation=report.generation,
        )
    status["conditions"] = conditions
    for name, value in fields.items():
        if value is None:
            status.pop(name, None)
        else:
            status[name] = value
    return status


def _targets_message(failed: Sequence[TargetOutcome], total: int) -> str:
    if not failed:
        return f"all {total} targets hold the current version"
    named = "; ".join(f"{o.key.describe()}: {o.message or o.state}" for o in failed[:5])
    more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
    return f"{len(failed)} of {total} targets not synced: {named}{more}"
