"""The ApprovalRecord condition describes the record the new status carries: a push that seals a
new record replaces an invalid one at once, in the same status (not one sync later)."""

from __future__ import annotations

from typing import Any

from typed_spec import typed_spec
from vaultsync.approvals.integrity import Recall
from vaultsync.sync.approval_memory import RECORD_CONDITION, report
from vaultsync.sync.sync_run import SyncResult, SyncRun

INVALID = Recall(trusted=False, fingerprint=None, source_identity=None, problem="does not carry the seal")
FORGED = {"fingerprint": "f2", "seal": "forged"}
SEALED = {"fingerprint": "f2", "seal": "genuine"}


def _run() -> SyncRun:
    condition = {"type": RECORD_CONDITION, "status": "False", "reason": "ApprovalRecordInvalid"}
    status = {"approval": FORGED, "conditions": [{**condition, "message": INVALID.problem}]}
    return SyncRun(
        {"metadata": {"name": "s", "namespace": "ns", "generation": 1}, "status": status}, typed_spec()
    )


def _condition(result: SyncResult) -> dict[str, Any]:
    return next(c for c in result.status["conditions"] if c["type"] == RECORD_CONDITION)


def test_a_push_that_seals_a_new_record_verifies_in_the_same_status() -> None:
    run = _run()
    pushed = SyncResult({**run.previous, "approval": SEALED})
    assert _condition(report(pushed, run, INVALID))["status"] == "True"


def test_without_a_new_record_the_invalid_one_stays_reported_without_a_second_warning() -> None:
    run = _run()
    held = report(SyncResult(dict(run.previous)), run, INVALID)
    assert _condition(held)["status"] == "False"
    assert held.events == [], "the same problem was already reported"
