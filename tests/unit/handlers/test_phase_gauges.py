"""``vaultsync_managedsecrets{phase}`` counts each ManagedSecret in its latest phase, and a sync
updates only the two phases it moves between (not a count over every object)."""

from __future__ import annotations

from collections import Counter

from prometheus_client import REGISTRY

from vaultsync.handlers import metrics


def _gauges() -> dict[str, float]:
    return {
        sample.labels["phase"]: sample.value
        for family in REGISTRY.collect()
        if family.name == "vaultsync_managedsecrets"
        for sample in family.samples
    }


def test_phase_gauges_follow_moves_and_deletions() -> None:
    owners = [f"gauge-test/m{i}" for i in range(6)]
    phases = ["Synced", "Synced", "Failed", "PendingApproval", "Synced", "Failed"]
    for owner, phase in zip(owners, phases, strict=True):
        metrics.observe_sync(owner, "bao", 0.01, {"phase": phase}, failed=phase == "Failed")
    metrics.observe_sync(owners[2], "bao", 0.01, {"phase": "Synced"}, failed=False)
    metrics.observe_sync(owners[3], "bao", 0.01, {"phase": "PendingApproval"}, failed=False)
    metrics.forget(owners[5])
    metrics.forget("gauge-test/never-seen")
    expected = Counter(metrics._phases.values())
    assert _gauges() == {phase: float(count) for phase, count in expected.items()}
    for owner in owners:
        metrics.forget(owner)
    assert all(owner not in metrics._phases for owner in owners)
    assert _gauges() == {phase: float(count) for phase, count in Counter(metrics._phases.values()).items()}
