"""Status assembly: conditions move only when their status flips; steady state patches nothing."""

from __future__ import annotations

from vaultsync.reconcile.conditions import set_condition, status_patch
from vaultsync.reconcile.status import Phase, Reason, SyncReport, TargetOutcome, TargetState, next_status
from vaultsync.reconcile.targets import ProfileKey, secret_target, vault_target

AWS = vault_target(ProfileKey("ns", "aws"), "app/db", None)
K8S = secret_target("ns", "db")


def _report(now: str, *, failed: bool = False) -> SyncReport:
    outcomes = [
        TargetOutcome(
            AWS,
            TargetState.FAILED if failed else TargetState.SYNCED,
            message="vault unavailable" if failed else None,
            synced_at=None if failed else now,
            version="1",
        ),
        TargetOutcome(K8S, TargetState.SYNCED, synced_at=now, version="5"),
    ]
    return SyncReport(
        phase=Phase.FAILED if failed else Phase.SYNCED,
        ready_reason=Reason.TARGETS_FAILED if failed else Reason.SYNCED,
        ready_message="x" if failed else "synced",
        now=now,
        generation=2,
        targets=outcomes,
    )


def test_same_outcome_later_gives_no_patch() -> None:
    first = next_status({}, _report("2026-01-01T00:00:00Z"), currentVersion=1)
    again_targets = [
        TargetOutcome(t.key, t.state, version=t.version) for t in _report("2026-01-01T00:05:00Z").targets
    ]
    later = next_status(
        first,
        SyncReport(Phase.SYNCED, Reason.SYNCED, "synced", "2026-01-01T00:05:00Z", 2, again_targets),
        currentVersion=1,
    )
    assert status_patch(first, later) == {}


def test_failed_target_is_named_and_recovery_clears_it() -> None:
    ok = next_status({}, _report("2026-01-01T00:00:00Z"))
    failed = next_status(ok, _report("2026-01-01T00:01:00Z", failed=True))
    ready = next(c for c in failed["conditions"] if c["type"] == "Ready")
    synced = next(c for c in failed["conditions"] if c["type"] == "Synced")
    assert ready["status"] == "False"
    assert "ns/aws:app/db" in synced["message"]
    assert failed["targets"][0]["syncedAt"] == "2026-01-01T00:00:00Z", "last good sync time is kept"
    recovered = next_status(failed, _report("2026-01-01T00:02:00Z"))
    assert next(c for c in recovered["conditions"] if c["type"] == "Synced")["status"] == "True"
    assert next(c for c in recovered["conditions"] if c["type"] == "Ready")["lastTransitionTime"] == (
        "2026-01-01T00:02:00Z"
    )


def test_condition_transition_time_moves_only_on_flip() -> None:
    one = set_condition([], "Ready", "True", "Synced", "a", now="t1")
    two = set_condition(one, "Ready", "True", "Synced", "b", now="t2")
    three = set_condition(two, "Ready", "False", "TargetsFailed", "c", now="t3")
    assert two[0]["lastTransitionTime"] == "t1"
    assert three[0]["lastTransitionTime"] == "t3"


def test_status_patch_removes_dropped_fields() -> None:
    assert status_patch({"a": 1, "b": 2}, {"a": 1}) == {"b": None}
    assert status_patch({"a": 1}, {"a": 2, "c": 3}) == {"a": 2, "c": 3}
