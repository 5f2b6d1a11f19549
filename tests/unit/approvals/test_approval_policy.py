"""ApprovalPolicy: the strictest combination of the profiles' approval policies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec
from vaultsync.approvals.policy import ApprovalPolicy, Approver

SECURITY = "security"
SOURCE = {"operations": ["Update", "Delete"], "requiredApprovals": 2, "approvers": {"groups": [SECURITY]}}
TARGET = {
    "operations": ["Update", "ChangeSource"],
    "approvers": {"users": ["erin"]},
    "allowSelfApproval": True,
    "expiresAfter": "1h",
}
BOB, CAROL, ERIN = Approver("bob", (SECURITY,)), Approver("carol", (SECURITY,)), Approver("erin")
DAVE = Approver("dave")


def policy(*approvals: dict[str, Any] | None) -> ApprovalPolicy:
    specs = (ApprovalSpec.from_dict(a) if a is not None else None for a in approvals)
    return ApprovalPolicy.of_profiles((f"ns/p{i}", a) for i, a in enumerate(specs))


@pytest.mark.parametrize(
    ("operation", "gated"),
    [("Update", True), ("Delete", True), ("ChangeSource", True), ("Create", False)],
    ids=["both-gate", "source-gates", "target-gates", "nobody-gates"],
)
def test_an_operation_is_gated_when_any_profile_gates_it(operation: str, gated: bool) -> None:
    assert policy(SOURCE, None, TARGET).gates(operation) is gated


@pytest.mark.parametrize(
    ("operation", "approvers", "requested_by", "missing"),
    [
        ("Update", [BOB, CAROL], None, {"ns/p1": 1}),
        ("Update", [BOB, CAROL, ERIN], None, {}),
        ("Update", [BOB, BOB, ERIN], None, {"ns/p0": 1}),
        ("Update", [BOB, CAROL, ERIN], "bob", {"ns/p0": 1}),
        ("Update", [BOB, CAROL, ERIN], "erin", {}),
        ("Update", [DAVE, ERIN], None, {"ns/p0": 2}),
        ("Delete", [BOB, CAROL], None, {}),
        ("ChangeSource", [ERIN], "erin", {}),
        ("Create", [], None, {}),
    ],
    ids=[
        "target-policy-still-short",
        "every-policy-satisfied",
        "same-person-twice-counts-once",
        "requester-does-not-count-without-self-approval",
        "self-approval-where-allowed",
        "outsider-does-not-count",
        "only-governing-policies-count",
        "target-only-operation",
        "ungated-needs-nothing",
    ],
)
def test_every_governing_policy_must_be_satisfied_by_its_own_approvers(
    operation: str, approvers: list[Approver], requested_by: str | None, missing: dict[str, int]
) -> None:
    combined = policy(SOURCE, TARGET)
    assert combined.missing_approvals(operation, approvers, requested_by) == missing


@pytest.mark.parametrize(
    ("who", "operation", "expected"),
    [(BOB, "Update", True), (ERIN, "Update", True), (ERIN, "Delete", False), (DAVE, "Update", False)],
    ids=["group-member", "named-user", "not-governing-for-that-operation", "outsider"],
)
def test_is_approver(who: Approver, operation: str, expected: bool) -> None:
    assert policy(SOURCE, TARGET).is_approver(operation, who) is expected


def test_self_approval_needs_every_governing_policy_to_allow_it() -> None:
    combined = policy(SOURCE, TARGET)
    assert combined.allows_self_approval("ChangeSource")
    assert not combined.allows_self_approval("Update")
    assert not combined.allows_self_approval("Create")


def test_the_shortest_expiry_and_the_highest_count_win() -> None:
    combined = policy(SOURCE, TARGET)
    assert combined.expires_after("Update") == timedelta(hours=1)
    assert combined.expires_after("Delete") == timedelta(hours=72)
    assert combined.required_approvals("Update") == 2
    assert combined.gated_operations == {"Update", "Delete", "ChangeSource"}


names = st.sampled_from(["a", "b", "c", "d", "e"])
people = st.lists(st.builds(Approver, names, st.tuples(st.sampled_from(["g1", "g2"]))), max_size=8)


@given(people, people, st.integers(1, 4))
def test_more_approvals_never_make_a_request_less_approved(
    first: list[Approver], more: list[Approver], required: int
) -> None:
    combined = policy(
        {"operations": ["Update"], "requiredApprovals": required, "approvers": {"groups": ["g1"]}}
    )
    before = sum(combined.missing_approvals("Update", first, None).values())
    after = sum(combined.missing_approvals("Update", first + more, None).values())
    assert after <= before
    assert combined.eligible_count("Update", first, None) <= len({a.user for a in first})
