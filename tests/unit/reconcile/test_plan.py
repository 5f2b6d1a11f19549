"""plan_sync: which targets are written, when a version is recorded, when approval is needed."""

from __future__ import annotations

import pytest

from vaultsync.reconcile.plan import ObservedTarget, Operation, SyncInput, WriteReason, plan_sync
from vaultsync.reconcile.targets import ProfileKey, secret_target, vault_target

AWS = vault_target(ProfileKey("ns", "aws"), "app/{environment}/db", "prod")
K8S = secret_target("ns", "db")
NEW, OLD = "hmac-sha256:" + "1" * 64, "hmac-sha256:" + "0" * 64
SRC = "ns/bao:app/db"


def _input(**overrides: object) -> SyncInput:
    base: dict[str, object] = {
        "source_fingerprint": NEW,
        "source_identity": SRC,
        "last_fingerprint": NEW,
        "last_source_identity": SRC,
        "targets": [ObservedTarget(AWS, True, NEW, "3"), ObservedTarget(K8S, True, NEW, "17")],
    }
    base.update(overrides)
    return SyncInput(**base)  # type: ignore[arg-type]


def test_environment_placeholder_is_resolved() -> None:
    assert AWS.path == "app/prod/db"
    assert vault_target(ProfileKey("ns", "aws"), "app/{environment}", None).path == "app/default"


CASES = [
    pytest.param({}, None, [], False, False, id="steady-state-does-nothing"),
    pytest.param(
        {
            "last_fingerprint": None,
            "last_source_identity": None,
            "targets": [ObservedTarget(AWS, False), ObservedTarget(K8S, False)],
        },
        Operation.CREATE,
        [(AWS, WriteReason.MISSING, None), (K8S, WriteReason.MISSING, None)],
        True,
        False,
        id="first-sync-creates-everything",
    ),
    pytest.param(
        {
            "last_fingerprint": OLD,
            "targets": [ObservedTarget(AWS, True, OLD, "3"), ObservedTarget(K8S, True, OLD, "17")],
        },
        Operation.UPDATE,
        [(AWS, WriteReason.UPDATE, "3"), (K8S, WriteReason.UPDATE, "17")],
        True,
        False,
        id="source-change-updates-with-cas",
    ),
    pytest.param(
        {"targets": [ObservedTarget(AWS, True, OLD, "4"), ObservedTarget(K8S, True, NEW, "17")]},
        None,
        [(AWS, WriteReason.DRIFT, "4")],
        False,
        False,
        id="out-of-band-edit-is-drift-without-new-version",
    ),
    pytest.param(
        {
            "targets": [ObservedTarget(AWS, True, OLD, "4"), ObservedTarget(K8S, True, NEW, "17")],
            "lagging": {AWS.id},
        },
        None,
        [(AWS, WriteReason.UPDATE, "4")],
        False,
        False,
        id="a-target-whose-last-write-failed-catches-up-as-an-update-not-drift",
    ),
    pytest.param(
        {"targets": [ObservedTarget(AWS, True, None, "4"), ObservedTarget(K8S, False)]},
        None,
        [(AWS, WriteReason.DRIFT, "4"), (K8S, WriteReason.MISSING, None)],
        False,
        False,
        id="unreadable-or-deleted-target-is-rewritten",
    ),
    pytest.param(
        {"last_fingerprint": OLD, "gated": [Operation.UPDATE]},
        Operation.UPDATE,
        [],
        False,
        True,
        id="gated-update-waits-for-approval",
    ),
    pytest.param(
        {
            "last_fingerprint": OLD,
            "gated": [Operation.UPDATE],
            "approved_fingerprint": NEW,
            "targets": [ObservedTarget(AWS, True, OLD, "3")],
        },
        Operation.UPDATE,
        [(AWS, WriteReason.UPDATE, "3")],
        True,
        False,
        id="approved-update-is-pushed",
    ),
    pytest.param(
        {"last_fingerprint": OLD, "gated": [Operation.UPDATE], "approved_fingerprint": OLD},
        Operation.UPDATE,
        [],
        False,
        True,
        id="approval-of-other-content-does-not-count",
    ),
    pytest.param(
        {"last_source_identity": "ns/old:x", "gated": [Operation.CHANGE_SOURCE]},
        Operation.CHANGE_SOURCE,
        [],
        False,
        True,
        id="change-of-source-is-gated-even-with-equal-content",
    ),
    pytest.param(
        {"gated": [Operation.UPDATE, Operation.CREATE], "targets": [ObservedTarget(AWS, True, OLD, "9")]},
        None,
        [(AWS, WriteReason.DRIFT, "9")],
        False,
        False,
        id="drift-repair-of-approved-content-is-not-gated",
    ),
    pytest.param(
        {
            "gated": [Operation.UPDATE],
            "last_trusted": False,
            "targets": [ObservedTarget(AWS, True, OLD, "9")],
        },
        Operation.UPDATE,
        [],
        False,
        True,
        id="unvouched-last-push-turns-drift-repair-into-a-gated-update",
    ),
    pytest.param(
        {
            "last_source_identity": "ns/old:x",
            "gated": [Operation.UPDATE],
            "last_trusted": False,
            "targets": [ObservedTarget(AWS, True, OLD, "9")],
        },
        Operation.UPDATE,
        [],
        False,
        True,
        id="unvouched-source-change-is-gated-as-whatever-is-gated",
    ),
    pytest.param(
        {"gated": [Operation.UPDATE], "last_trusted": False},
        None,
        [],
        False,
        False,
        id="unvouched-but-every-target-holds-the-source-pushes-nothing",
    ),
    pytest.param(
        {"last_trusted": False, "targets": [ObservedTarget(AWS, True, OLD, "9")]},
        None,
        [(AWS, WriteReason.DRIFT, "9")],
        False,
        False,
        id="trust-is-irrelevant-when-nothing-is-gated",
    ),
]


@pytest.mark.parametrize(("overrides", "operation", "writes", "new_version", "needs_approval"), CASES)
def test_plan_sync(
    overrides: dict[str, object],
    operation: Operation | None,
    writes: list[tuple[object, WriteReason, str | None]],
    new_version: bool,
    needs_approval: bool,
) -> None:
    plan = plan_sync(_input(**overrides))
    assert plan.operation == operation
    assert [(w.key, w.reason, w.expected_version) for w in plan.writes] == writes
    assert plan.new_version is new_version
    assert plan.needs_approval is needs_approval
