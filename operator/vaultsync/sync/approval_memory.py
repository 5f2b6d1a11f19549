"""What one sync remembers about approvals: the sealed record in status, checked and rewritten.

A gated ManagedSecret's ``status.approval`` says which content the operator last pushed and
which request approved it, under an HMAC only the operator can compute
(``approvals.integrity``). Each sync checks it before planning, and writes it again after each
push. A record someone else wrote or edited is ignored, reported with a Warning event and the
``ApprovalRecord`` condition, and the change it would have waved through waits for approval.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from vaultsync.approvals.integrity import ApprovalRecord, Recall, recall
from vaultsync.approvals.lifecycle import RequestView
from vaultsync.reconcile.conditions import set_condition
from vaultsync.reconcile.plan import ObservedTarget, Operation, SyncInput
from vaultsync.reconcile.status import TargetState, entry_id
from vaultsync.sync.sync_run import FALSE, TRUE, Event, SyncResult, SyncRun

RECORD_CONDITION = "ApprovalRecord"


class RecordReason:
    INVALID = "ApprovalRecordInvalid"
    VERIFIED = "RecordVerified"


VERIFIED_MESSAGE = "the operator's sealed record of the last push verifies"


def recall_for(run: SyncRun, key: bytes, gated: Collection[Operation]) -> Recall:
    """The last push as far as the operator can vouch for it (everything, when nothing is gated)."""
    previous = run.previous
    if not gated:
        return Recall(True, previous.get("fingerprint"), previous.get("sourceIdentity"))
    return recall(previous, str(run.body["metadata"].get("uid") or ""), key)


def plan_input(
    run: SyncRun,
    key: bytes,
    gated: Collection[Operation],
    *,
    source_fingerprint: str,
    source_identity: str,
    targets: Sequence[ObservedTarget],
) -> SyncInput:
    """The planner's input, with the last push taken from the checked record (kept in ``run.memory``)."""
    memory = run.memory = recall_for(run, key, gated)
    return SyncInput(
        source_fingerprint=source_fingerprint,
        source_identity=source_identity,
        last_fingerprint=memory.fingerprint,
        last_source_identity=memory.source_identity,
        targets=targets,
        gated=gated,
        last_trusted=memory.trusted,
        lagging=lagging_targets(run.previous),
    )


def lagging_targets(previous: Mapping[str, Any]) -> frozenset[str]:
    """Targets the last sync failed to write: their copies may still hold an older version."""
    return frozenset(
        entry_id(entry)
        for entry in previous.get("targets") or []
        if isinstance(entry, Mapping) and entry.get("state") == str(TargetState.FAILED)
    )


def record_fields(
    run: SyncRun,
    key: bytes,
    gated: Collection[Operation],
    *,
    fingerprint: str,
    source_identity: str,
    approved_by: RequestView | None,
) -> dict[str, Any]:
    """The status fields that remember this push: the sealed record and ``approvedFingerprint``.

    Nothing changes when the sync pushed nothing new and the record already vouches for it.
    """
    if not gated:
        return {"approval": None}
    memory = run.memory
    unchanged = (
        approved_by is None
        and memory is not None
        and memory.trusted
        and memory.problem is None
        and (memory.fingerprint, memory.source_identity or "") == (fingerprint, source_identity)
        and ApprovalRecord.of_status(run.previous) is not None
    )
    if unchanged:
        return {}
    record = ApprovalRecord(
        fingerprint,
        source_identity,
        approved_by.name if approved_by else "",
        approved_by.uid if approved_by else "",
        approved_by.digest if approved_by else "",
    ).sealed(key, str(run.body["metadata"].get("uid") or ""))
    return {"approval": record.as_status(), "approvedFingerprint": fingerprint if approved_by else None}


def report(result: SyncResult, run: SyncRun, memory: Recall) -> SyncResult:
    """Sets the ``ApprovalRecord`` condition and, the first time a problem is seen, a Warning."""
    conditions = result.status.get("conditions") or []
    before = next((c for c in conditions if c.get("type") == RECORD_CONDITION), None)
    if memory.problem is not None:
        previously = next(
            (c for c in run.previous.get("conditions") or [] if c.get("type") == RECORD_CONDITION), None
        )
        if (
            previously is None
            or previously.get("message") != memory.problem
            or previously.get("status") != FALSE
        ):
            result.events.append(Event("Warning", RecordReason.INVALID, memory.problem))
    # A push of this sync sealed a new record: the status carries that one, not the one recalled.
    replaced = result.status.get("approval") not in (None, run.previous.get("approval"))
    if memory.problem is None or replaced:
        if before is None or before.get("status") == TRUE:
            return result
        status, reason, message = TRUE, RecordReason.VERIFIED, VERIFIED_MESSAGE
    else:
        status, reason, message = FALSE, RecordReason.INVALID, memory.problem
    result.status["conditions"] = set_condition(
        conditions, RECORD_CONDITION, status, reason, message, now=run.now, generation=run.generation
    )
    return result
