"""Rollout restart rule, templated drift classification and deactivation decisions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.handlers.references import ReferenceIndex
from vaultsync.reconcile.activation import VaultAction, previously_disabled, vault_action, was_inactive
from vaultsync.reconcile.plan import WriteReason
from vaultsync.reconcile.rollout import (
    RESTARTED_AT_ANNOTATION,
    RestartDecision,
    WriteCause,
    decide_restart,
    restart_patch,
    restart_wanted,
)
from vaultsync.reconcile.status import TargetOutcome, TargetState, target_entry
from vaultsync.reconcile.targets import secret_target
from vaultsync.reconcile.templated import RenderedState, data_fingerprint, rendered_state
from vaultsync.secrets.errors import FingerprintKeyError
from vaultsync.sync.rollout import keep_messages, write_cause

KEY = b"k" * 32

CAUSES = [
    pytest.param(WriteReason.MISSING, False, WriteCause.CREATED, False, id="first-creation-no-restart"),
    pytest.param(WriteReason.MISSING, True, WriteCause.CREATED, False, id="recreated-no-restart"),
    pytest.param(WriteReason.UPDATE, False, WriteCause.CHANGED, True, id="new-version-restarts"),
    pytest.param(WriteReason.DRIFT, False, WriteCause.DRIFT_REPAIRED, False, id="drift-repair-no-restart"),
    pytest.param(
        WriteReason.DRIFT, True, WriteCause.CHANGED, True, id="template-or-reference-change-restarts"
    ),
]


@pytest.mark.parametrize(("reason", "rerendered", "cause", "restart"), CAUSES)
def test_when_a_write_restarts_workloads(
    reason: WriteReason, rerendered: bool, cause: WriteCause, restart: bool
) -> None:
    assert write_cause(reason, rerendered) is cause
    assert restart_wanted(cause) is restart


DECISIONS = [
    pytest.param("Deployment", None, RestartDecision.NOT_FOUND, id="missing"),
    pytest.param("Deployment", {"spec": {}}, RestartDecision.RESTART, id="deployment"),
    pytest.param("Deployment", {"spec": {"paused": True}}, RestartDecision.PAUSED, id="paused-deployment"),
    pytest.param("Deployment", {"spec": {"paused": False}}, RestartDecision.RESTART, id="unpaused"),
    pytest.param("StatefulSet", {"spec": {"paused": True}}, RestartDecision.RESTART, id="statefulset"),
    pytest.param("DaemonSet", {"spec": {}}, RestartDecision.RESTART, id="daemonset"),
]


@pytest.mark.parametrize(("kind", "workload", "decision"), DECISIONS)
def test_restart_decision(kind: str, workload: dict[str, Any] | None, decision: RestartDecision) -> None:
    assert decide_restart(kind, workload) is decision


def test_restart_patch_is_the_pod_template_annotation() -> None:
    patch = restart_patch("2026-01-02T03:04:05Z")
    assert patch["spec"]["template"]["metadata"]["annotations"] == {
        RESTARTED_AT_ANNOTATION: "2026-01-02T03:04:05Z"
    }


A, B, C = (data_fingerprint({"k": v}, KEY) for v in (b"a", b"b", b"c"))
STATES = [
    pytest.param(A, A, None, RenderedState.IN_SYNC, id="holds-the-render"),
    pytest.param(A, B, A, RenderedState.CHANGED, id="holds-what-was-written-render-moved"),
    pytest.param(C, B, A, RenderedState.DRIFTED, id="edited-out-of-band"),
    pytest.param(A, B, None, RenderedState.DRIFTED, id="no-record-counts-as-drift"),
]


@pytest.mark.parametrize(("held", "desired", "recorded", "state"), STATES)
def test_rendered_state(held: str, desired: str, recorded: str | None, state: RenderedState) -> None:
    assert rendered_state(held, desired, recorded) is state


_data = st.dictionaries(st.text(min_size=1, max_size=8), st.binary(max_size=16), max_size=5)


@given(_data, _data)
def test_data_fingerprint_is_injective_in_practice_and_order_free(
    left: dict[str, bytes], right: dict[str, bytes]
) -> None:
    assert data_fingerprint(left, KEY) == data_fingerprint(dict(reversed(list(left.items()))), KEY)
    assert (data_fingerprint(left, KEY) == data_fingerprint(right, KEY)) == (left == right)


def test_data_fingerprint_is_keyed_and_never_shows_values() -> None:
    data = {"password": b"hunter2-hunter2"}
    assert data_fingerprint(data, KEY) != data_fingerprint(data, b"x" * 32)
    assert "hunter2" not in data_fingerprint(data, KEY)
    with pytest.raises(FingerprintKeyError):
        data_fingerprint(data, b"short")


@pytest.mark.parametrize(
    ("can_disable", "action"),
    [
        pytest.param(True, VaultAction.DISABLE, id="azure"),
        pytest.param(False, VaultAction.LEAVE, id="others"),
    ],
)
def test_vault_action(can_disable: bool, action: VaultAction) -> None:
    assert vault_action(can_disable) is action


def test_reactivation_finds_disabled_targets_and_inactive_phase() -> None:
    targets = [
        {"kind": "Vault", "vaultProfile": "ns/az", "path": "p", "state": "Disabled"},
        {"kind": "Vault", "vaultProfile": "ns/aws", "path": "p", "state": "Retained"},
        {"kind": "KubernetesSecret", "namespace": "ns", "name": "s", "state": "Deleted"},
    ]
    assert previously_disabled(targets) == {("ns/az", "p")}
    assert was_inactive({"phase": "Inactive"})
    assert not was_inactive({"phase": "Synced"})


SECRET = secret_target("ns", "app")
PAUSED = "Deployment ns/web is paused; not restarted"
MESSAGES = [
    pytest.param(
        TargetOutcome(SECRET, TargetState.SYNCED, "f", "9"), PAUSED, PAUSED, id="kept-while-unwritten"
    ),
    pytest.param(
        TargetOutcome(SECRET, TargetState.SYNCED, "f", "9", synced_at="t"),
        PAUSED,
        None,
        id="dropped-on-write",
    ),
    pytest.param(
        TargetOutcome(SECRET, TargetState.SYNCED, "f"), "other text", None, id="only-rollout-messages"
    ),
]


@pytest.mark.parametrize(("outcome", "previous", "kept"), MESSAGES)
def test_rollout_message_stays_until_the_secret_is_written_again(
    outcome: TargetOutcome, previous: str, kept: str | None
) -> None:
    entry = {**target_entry(outcome, None), "message": previous}
    assert keep_messages([outcome], [entry])[0].message == kept


REFERENCE_EVENTS = [
    pytest.param([], ("ns", "db"), "fp1|None", False, set(), id="first-sight-wakes-nobody"),
    pytest.param([(("ns", "db"), "fp1|None")], ("ns", "db"), "fp1|None", False, set(), id="unchanged"),
    pytest.param([(("ns", "db"), "fp1|None")], ("ns", "db"), "fp2|None", False, {"ns/app"}, id="new-content"),
    pytest.param(
        [(("ns", "db"), "fp1|None")], ("ns", "db"), "fp1|Inactive", False, {"ns/app"}, id="deactivated"
    ),
    pytest.param([(("ns", "db"), "fp1|None")], ("ns", "db"), "fp1|None", True, {"ns/app"}, id="deleted"),
    pytest.param(
        [(("other", "db"), "fp1|None")], ("other", "db"), "fp2|None", False, set(), id="other-namespace"
    ),
]


@pytest.mark.parametrize(("before", "key", "version", "deleted", "woken"), REFERENCE_EVENTS)
def test_a_referenced_secret_wakes_its_dependents_when_it_moves(
    before: list[tuple[tuple[str, str], str]],
    key: tuple[str, str],
    version: str,
    deleted: bool,
    woken: set[str],
) -> None:
    index = ReferenceIndex()
    index.observe(("ns", "app"), frozenset({"db"}), "x|None", deleted=False)
    index.observe(("ns", "plain"), frozenset(), "y|None", deleted=False)
    for seen_key, seen_version in before:
        index.observe(seen_key, frozenset(), seen_version, deleted=False)
    assert index.observe(key, frozenset(), version, deleted) == woken
