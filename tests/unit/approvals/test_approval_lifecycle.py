"""The ApprovalRequest lifecycle: phases, what the ManagedSecret does, pruning, names, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.api.approvalrequest import ApprovalPhase, Decision
from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec
from vaultsync.approvals.integrity import decision_seal
from vaultsync.approvals.lifecycle import (
    DecisionView,
    Outcome,
    RequestView,
    Wanted,
    evaluate,
    next_step,
    request_name,
    summary_of,
)
from vaultsync.approvals.policy import ApprovalPolicy

FP_A, FP_B = "hmac-sha256:" + "a" * 64, "hmac-sha256:" + "b" * 64
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = ApprovalPolicy.of_profiles(
    [
        (
            "ns/vault",
            ApprovalSpec.from_dict(
                {
                    "operations": ["Create", "Update", "Delete", "ChangeSource"],
                    "requiredApprovals": 2,
                    "approvers": {"groups": ["sec"]},
                }
            ),
        )
    ]
)
APPROVE = "Approve"


def decision(
    user: str,
    kind: str = APPROVE,
    groups: tuple[str, ...] = ("sec",),
    *,
    at: datetime | None = None,
    sealed: bool = True,
) -> DecisionView:
    return DecisionView(Decision(kind), user, groups, at=at, sealed=sealed)


def req(**overrides: Any) -> RequestView:
    base: dict[str, Any] = {
        "name": "db-update-aaaaaaaaaa",
        "operation": "Update",
        "fingerprint": FP_A,
        "requested_by": "source vault",
        "expires_at": NOW + timedelta(hours=1),
        "generation": 3,
        "created": "2026-01-01T11:00:00Z",
    }
    base.update(overrides)
    return RequestView(**base)


WANTED_A = Wanted("Update", FP_A)
REJECTS = decision("carol", "Reject")


@pytest.mark.parametrize(
    ("request_", "wanted", "now", "phase"),
    [
        (req(), WANTED_A, NOW, ApprovalPhase.PENDING),
        (req(decisions=(decision("bob"),)), WANTED_A, NOW, ApprovalPhase.PENDING),
        (req(decisions=(decision("bob"), decision("carol"))), WANTED_A, NOW, ApprovalPhase.APPROVED),
        (req(decisions=(decision("bob"), decision("bob"))), WANTED_A, NOW, ApprovalPhase.PENDING),
        (req(decisions=(decision("bob"), decision("dave", groups=()))), WANTED_A, NOW, ApprovalPhase.PENDING),
        (
            req(decisions=(decision("bob"), decision("carol", "Reject"))),
            WANTED_A,
            NOW,
            ApprovalPhase.REJECTED,
        ),
        (req(decisions=(decision("dave", "Reject", ()),)), WANTED_A, NOW, ApprovalPhase.PENDING),
        (
            req(decisions=(decision("bob"), decision("carol"))),
            Wanted("Update", FP_B),
            NOW,
            ApprovalPhase.SUPERSEDED,
        ),
        (req(), None, NOW, ApprovalPhase.SUPERSEDED),
        (req(), WANTED_A, NOW + timedelta(hours=2), ApprovalPhase.EXPIRED),
        (
            req(decisions=(decision("bob"), decision("carol"))),
            WANTED_A,
            NOW + timedelta(hours=2),
            ApprovalPhase.APPROVED,
        ),
        (
            req(decisions=(decision("carol", "Reject"),)),
            Wanted("Update", FP_B),
            NOW,
            ApprovalPhase.SUPERSEDED,
        ),
        (req(phase=ApprovalPhase.APPROVED), WANTED_A, NOW, ApprovalPhase.PENDING),
        (req(phase=ApprovalPhase.REJECTED), WANTED_A, NOW, ApprovalPhase.PENDING),
        (
            req(decisions=(decision("bob", sealed=False), decision("carol", sealed=False))),
            WANTED_A,
            NOW,
            ApprovalPhase.PENDING,
        ),
        (
            req(decisions=(decision("bob"), decision("carol", at=NOW + timedelta(hours=1)))),
            WANTED_A,
            NOW + timedelta(hours=2),
            ApprovalPhase.EXPIRED,
        ),
        (
            req(decisions=(decision("bob"), decision("carol"), decision("dave", "Reject", ("sec",)))),
            WANTED_A,
            NOW,
            ApprovalPhase.APPROVED,
        ),
    ],
    ids=[
        "no-decision-pending",
        "one-of-two-pending",
        "two-distinct-approved",
        "same-approver-twice-pending",
        "outsider-does-not-count",
        "one-rejection-rejects",
        "outsider-rejection-ignored",
        "content-moved-superseded",
        "nothing-waits-superseded",
        "past-expiry-expired",
        "approved-in-time-stays-approved",
        "decided-but-moved-superseded",
        "status-approved-is-not-an-approval",
        "status-rejected-is-not-a-rejection",
        "unsealed-decisions-never-count",
        "decision-at-expiry-does-not-count",
        "decisions-count-in-order",
    ],
)
def test_phase_of_a_request(
    request_: RequestView, wanted: Wanted | None, now: datetime, phase: ApprovalPhase
) -> None:
    assert evaluate(request_, POLICY, wanted, now).phase is phase


@pytest.mark.parametrize(
    ("requests", "generation", "outcome", "current", "attempt"),
    [
        ([], 3, Outcome.OPEN, None, 1),
        ([req()], 3, Outcome.WAIT, "db-update-aaaaaaaaaa", 1),
        (
            [req(decisions=(decision("bob"), decision("carol")))],
            3,
            Outcome.APPROVED,
            "db-update-aaaaaaaaaa",
            1,
        ),
        ([req(decisions=(REJECTS,))], 3, Outcome.REJECTED, "db-update-aaaaaaaaaa", 1),
        ([req(decisions=(REJECTS,))], 4, Outcome.OPEN, None, 2),
        ([req(expires_at=NOW)], 3, Outcome.EXPIRED, "db-update-aaaaaaaaaa", 1),
        ([req(phase=ApprovalPhase.SUPERSEDED)], 3, Outcome.OPEN, None, 2),
        ([req(fingerprint=FP_B, name="db-update-bbbbbbbbbb")], 3, Outcome.OPEN, None, 1),
        ([req(phase=ApprovalPhase.APPROVED)], 3, Outcome.WAIT, "db-update-aaaaaaaaaa", 1),
        (
            [req(), req(name="db-update-bbbbbbbbbb", fingerprint=FP_B, created="2026-01-01T11:30:00Z")],
            3,
            Outcome.OPEN,
            None,
            2,
        ),
    ],
    ids=[
        "first-request-opened",
        "waits-for-pending",
        "approved-goes-ahead",
        "rejected-holds-until-a-change",
        "rejected-asked-again-after-spec-change",
        "expired-holds-until-a-change",
        "superseded-content-back-asks-again",
        "other-content-gets-its-own-request",
        "status-approved-waits-for-decisions",
        "replayed-after-a-later-change-asks-again",
    ],
)
def test_next_step(
    requests: list[RequestView], generation: int, outcome: Outcome, current: str | None, attempt: int
) -> None:
    step = next_step(requests, WANTED_A, POLICY, now=NOW, generation=generation)
    assert (step.outcome, step.current) == (outcome, current)
    if outcome is Outcome.OPEN:
        assert step.attempt == attempt


@pytest.mark.parametrize(
    ("operation", "generation", "phase"),
    [
        ("ChangeSource", 3, ApprovalPhase.PENDING),
        ("ChangeSource", 4, ApprovalPhase.SUPERSEDED),
        ("Create", 4, ApprovalPhase.SUPERSEDED),
        ("Update", 4, ApprovalPhase.PENDING),
        ("ChangeSource", None, ApprovalPhase.PENDING),
    ],
    ids=[
        "same-spec",
        "source-moved-again",
        "create-spec-edited",
        "content-change-keeps",
        "generation-unknown",
    ],
)
def test_spec_operations_are_superseded_by_a_spec_change(
    operation: str, generation: int | None, phase: ApprovalPhase
) -> None:
    wanted = Wanted(operation, FP_A, generation)
    assert evaluate(req(operation=operation), POLICY, wanted, NOW).phase is phase


def test_pending_requests_of_other_content_are_superseded_and_final_ones_untouched() -> None:
    old = req(fingerprint=FP_B, name="old")
    done = req(
        fingerprint=FP_B,
        name="done",
        phase=ApprovalPhase.APPROVED,
        decisions=(decision("bob"), decision("carol")),
    )
    step = next_step([old, done], WANTED_A, POLICY, now=NOW, generation=3)
    assert step.updates["old"].phase is ApprovalPhase.SUPERSEDED
    assert "done" not in step.updates, "a decided request keeps its audit entry"
    assert step.forged == ()
    nothing = next_step([old], None, POLICY, now=NOW, generation=3)
    assert nothing.outcome is Outcome.NONE
    assert nothing.updates["old"].phase is ApprovalPhase.SUPERSEDED


def test_oldest_decided_requests_are_pruned_beyond_the_audit_trail() -> None:
    decided = [
        req(name=f"r{i}", fingerprint=FP_B, phase=ApprovalPhase.REJECTED, created=f"2026-01-01T0{i}:00:00Z")
        for i in range(5)
    ]
    step = next_step([*decided, req()], WANTED_A, POLICY, now=NOW, generation=3, keep=3)
    assert step.prune == ("r0", "r1")


@pytest.mark.parametrize(
    ("secret", "operation", "attempt", "expected"),
    [
        ("db", "Update", 1, "db-update-aaaaaaaaaa"),
        ("db", "ChangeSource", 2, "db-changesource-aaaaaaaaaa-2"),
        ("x" * 253, "Delete", 1, "x" * (253 - len("-delete-aaaaaaaaaa")) + "-delete-aaaaaaaaaa"),
    ],
    ids=["plain", "attempt-suffix", "long-name-truncated"],
)
def test_request_name(secret: str, operation: str, attempt: int, expected: str) -> None:
    name = request_name(secret, operation, FP_A, attempt)
    assert name == expected
    assert len(name) <= 253


def test_request_view_reads_a_body_and_counts_only_sealed_decisions() -> None:
    key = b"k" * 32
    bob = {"decision": "Approve", "user": "bob", "groups": ["sec"], "at": "2026-01-01T10:00:00Z"}
    carol = {"decision": "Approve", "user": "carol", "groups": ["sec"], "at": "2026-01-01T10:00:00Z"}
    body = {
        "metadata": {
            "name": "r",
            "uid": "r-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"vaultsync.io/managed-secret-generation": "7", "vaultsync.io/attempt": "2"},
        },
        "spec": {
            "operation": "Delete",
            "fingerprint": FP_A,
            "expiresAt": "2026-01-02T00:00:00Z",
            "decisions": [
                {**bob, "seal": decision_seal(key, "r-1", 0, bob)},
                {**carol, "seal": decision_seal(key, "r-1", 0, carol)},
                {"decision": "Reject"},
            ],
        },
        "status": {"phase": "Rejected"},
    }
    view = RequestView.of(body, key)
    assert (view.operation, view.phase, view.generation, view.attempt, view.uid) == (
        "Delete",
        ApprovalPhase.REJECTED,
        7,
        2,
        "r-1",
    )
    assert view.expires_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert [a.user for a in view.approvers] == ["bob"], "a seal of another position or none never counts"


def test_a_forged_status_is_corrected_and_reported() -> None:
    forged = req(phase=ApprovalPhase.APPROVED, decisions=(decision("bob"),))
    step = next_step([forged], WANTED_A, POLICY, now=NOW, generation=3)
    assert step.outcome is Outcome.WAIT
    assert step.forged == (forged.name,)
    assert step.updates[forged.name].phase is ApprovalPhase.PENDING


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {"a": "1"}, {"keysAdded": ["a"], "keysRemoved": [], "keysChanged": []}),
        (
            {"a": "1", "b": "2"},
            {"a": "9", "c": "3"},
            {"keysAdded": ["c"], "keysRemoved": ["b"], "keysChanged": ["a"]},
        ),
        ({"a": "1"}, {"a": "1"}, {"keysAdded": [], "keysRemoved": [], "keysChanged": []}),
    ],
    ids=["create", "mixed", "unchanged"],
)
def test_summary_names_keys_only(
    old: dict[str, str] | None, new: dict[str, str], expected: dict[str, Any]
) -> None:
    assert summary_of(old, new) == expected


values = st.dictionaries(st.sampled_from("abcdef"), st.text(min_size=8, max_size=20), max_size=6)


@given(values, values)
def test_summary_never_contains_a_value(old: dict[str, str], new: dict[str, str]) -> None:
    summary = summary_of(old, new)
    listed = {k for keys in summary.values() for k in keys}
    assert listed <= set(old) | set(new)
    assert not listed & (set(old.values()) | set(new.values())) - set("abcdef")


def test_approvals_are_recounted_against_the_policy_of_now() -> None:
    approved = req(decisions=(decision("bob"), decision("carol")))
    assert evaluate(approved, POLICY, WANTED_A, NOW).phase is ApprovalPhase.APPROVED
    without_carol = ApprovalPolicy.of_profiles(
        [
            (
                "ns/vault",
                ApprovalSpec.from_dict(
                    {"operations": ["Update"], "requiredApprovals": 2, "approvers": {"users": ["bob"]}}
                ),
            )
        ]
    )
    step = next_step([approved], WANTED_A, without_carol, now=NOW, generation=3)
    assert step.outcome is Outcome.WAIT, "carol left the approvers: her approval no longer counts"


@pytest.mark.parametrize("dead", [ApprovalPhase.SUPERSEDED, ApprovalPhase.EXPIRED])
def test_a_dead_request_whose_change_comes_back_stays_dead_and_a_new_one_is_opened(
    dead: ApprovalPhase,
) -> None:
    """Content v2 is requested, superseded by v3, then v2 comes back: the first request is not
    shown Pending again while the new attempt is opened (it was, for one sync)."""
    first = req(phase=dead)
    step = next_step([first], WANTED_A, POLICY, now=NOW, generation=3)
    assert first.name not in step.updates, "its status is left as it is"
    if dead is ApprovalPhase.SUPERSEDED:
        assert (step.outcome, step.attempt) == (Outcome.OPEN, 2)
    else:  # an expired change waits for another change (test_expired_request_... in e2e)
        assert step.outcome is Outcome.EXPIRED
