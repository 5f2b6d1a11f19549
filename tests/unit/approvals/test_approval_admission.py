"""Admission of ApprovalRequest writes and the last-modified-by stamp of ManagedSecrets."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec
from vaultsync.approvals.admission import (
    LAST_MODIFIED_BY,
    admission_problem,
    stamp_decisions,
    stamp_last_modified_by,
)
from vaultsync.approvals.integrity import decision_is_sealed, decision_seal
from vaultsync.approvals.policy import ApprovalPolicy, Approver

KEY = b"k" * 32
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = ApprovalPolicy.of_profiles(
    [
        (
            "ns/vault",
            ApprovalSpec.from_dict(
                {
                    "operations": ["Update", "ChangeSource"],
                    "approvers": {"groups": ["sec"], "users": ["alice"]},
                }
            ),
        )
    ]
)
BOB, CAROL, ALICE, DAVE = (
    Approver("bob", ("sec",)),
    Approver("carol", ("sec",)),
    Approver("alice"),
    Approver("dave"),
)


def body(
    decisions: list[dict[str, Any]] | None = None, phase: str | None = None, **spec: Any
) -> dict[str, Any]:
    base = {
        "managedSecret": "db",
        "operation": "ChangeSource",
        "fingerprint": "hmac-sha256:" + "a" * 64,
        "requestedBy": "alice",
        "expiresAt": "2026-01-01T13:00:00Z",
        "decisions": decisions or [],
    }
    base.update(spec)
    found: dict[str, Any] = {"metadata": {"name": "db-changesource-aaaaaaaaaa", "uid": "r-1"}, "spec": base}
    if phase:
        found["status"] = {"phase": phase}
    return found


def stamped(who: Approver, decision: str = "Approve") -> dict[str, Any]:
    return {"decision": decision, "user": who.user, "groups": list(who.groups), "at": "2026-01-01T11:00:00Z"}


def sealed(who: Approver, index: int = 0) -> dict[str, Any]:
    found = stamped(who)
    return {**found, "seal": decision_seal(KEY, "r-1", index, found)}


def appended(old: dict[str, Any], who: Approver, decision: str = "Approve") -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["spec"]["decisions"].append({"decision": decision, "user": who.user})
    return new


def problem(
    old: dict[str, Any] | None, new: dict[str, Any], who: Approver, operation: str = "UPDATE"
) -> str | None:
    return admission_problem(operation, old, new, who=who, policy=POLICY, now=NOW, key=KEY)


@pytest.mark.parametrize(
    ("old", "who", "decision", "expected"),
    [
        (body(), BOB, "Approve", None),
        (body(), BOB, "Reject", None),
        (body(), ALICE, "Reject", None),
        (body(), ALICE, "Approve", "cannot approve it"),
        (body(), DAVE, "Approve", "is not an approver"),
        (body([sealed(BOB)]), BOB, "Approve", "already decided"),
        (body([stamped(BOB)]), BOB, "Approve", None),
        (body([sealed(BOB)]), CAROL, "Approve", None),
        (body(phase="Approved"), CAROL, "Approve", "already Approved"),
        (body(phase="Superseded"), CAROL, "Approve", "already Superseded"),
        (body(expiresAt="2026-01-01T11:59:59Z"), CAROL, "Approve", "expired"),
    ],
    ids=[
        "approver-approves",
        "approver-rejects",
        "requester-may-withdraw",
        "self-approval-refused",
        "outsider-refused",
        "second-decision-refused",
        "unsealed-decision-in-my-name-blocks-nobody",
        "second-approver-admitted",
        "closed-approved",
        "closed-superseded",
        "past-expiry",
    ],
)
def test_decisions(old: dict[str, Any], who: Approver, decision: str, expected: str | None) -> None:
    found = problem(old, appended(old, who, decision), who)
    assert found == expected if expected is None else expected in (found or "")


def test_self_approval_when_every_policy_allows_it() -> None:
    allowing = ApprovalPolicy.of_profiles(
        [
            (
                "ns/v",
                ApprovalSpec.from_dict(
                    {
                        "operations": ["ChangeSource"],
                        "approvers": {"users": ["alice"]},
                        "allowSelfApproval": True,
                    }
                ),
            )
        ]
    )
    old = body()
    found = admission_problem(
        "UPDATE", old, appended(old, ALICE), who=ALICE, policy=allowing, now=NOW, key=KEY
    )
    assert found is None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda b: b["spec"].update(fingerprint="hmac-sha256:" + "b" * 64), "spec.fingerprint cannot change"),
        (lambda b: b["spec"].update(requestedBy="mallory"), "spec.requestedBy cannot change"),
        (lambda b: b["spec"].update(summary={"keysAdded": ["x"]}), "spec.summary cannot change"),
        (
            lambda b: b["spec"]["decisions"][0].update(comment="rewritten"),
            "earlier decisions cannot be edited",
        ),
        (lambda b: b["spec"]["decisions"].clear(), "earlier decisions cannot be edited"),
        (lambda b: b["metadata"].update(labels={"team": "a"}), None),
    ],
    ids=["fingerprint", "requested-by", "summary", "edit-decision", "remove-decision", "labels-are-fine"],
)
def test_only_appending_decisions_is_allowed(edit: Any, expected: str | None) -> None:
    old = body([stamped(BOB)])
    new = copy.deepcopy(old)
    edit(new)
    found = problem(old, new, CAROL)
    assert found == expected if expected is None else expected in (found or "")


def test_two_decisions_at_once_and_unstamped_users_are_refused() -> None:
    old = body()
    twice = appended(appended(old, BOB), BOB)
    assert "one decision at a time" in (problem(old, twice, BOB) or "")
    forged = appended(old, CAROL)
    assert "stamped by the admission webhook" in (problem(old, forged, BOB) or "")


def test_create_must_come_without_decisions() -> None:
    assert problem(None, body(), BOB, "CREATE") is None
    assert "must be empty" in (problem(None, body([stamped(BOB)]), BOB, "CREATE") or "")


@pytest.mark.parametrize(
    ("creator", "expected"),
    [
        ("system:serviceaccount:vaultsync-system:vaultsync", None),
        ("bob", "opened by the vaultsync operator only"),
    ],
    ids=["operator-opens", "person-refused"],
)
def test_only_the_operator_opens_requests(creator: str, expected: str | None) -> None:
    found = admission_problem(
        "CREATE",
        None,
        body(),
        who=Approver(creator),
        policy=POLICY,
        now=NOW,
        key=KEY,
        operator_user="system:serviceaccount:vaultsync-system:vaultsync",
    )
    assert found == expected if expected is None else expected in (found or "")


def test_stamp_overwrites_forged_identity_of_new_decisions_only() -> None:
    old = body([stamped(CAROL)])
    new = copy.deepcopy(old)
    new["spec"]["decisions"].append(
        {"decision": "Approve", "user": "carol", "groups": ["admins"], "at": "1999"}
    )
    decisions = stamp_decisions(old, new, BOB, NOW, KEY)
    assert decisions is not None
    assert decisions[0] == stamped(CAROL)
    seal = decisions[1].pop("seal")
    assert decisions[1] == {
        "decision": "Approve",
        "user": "bob",
        "groups": ["sec"],
        "at": "2026-01-01T12:00:00Z",
    }
    assert decision_is_sealed(KEY, "r-1", 1, {**decisions[1], "seal": seal})
    assert not decision_is_sealed(KEY, "r-1", 0, {**decisions[1], "seal": seal}), "bound to its position"
    assert not decision_is_sealed(KEY, "r-2", 1, {**decisions[1], "seal": seal}), "bound to its request"
    assert not decision_is_sealed(b"x" * 32, "r-1", 1, {**decisions[1], "seal": seal})
    assert stamp_decisions(old, old, BOB, NOW, KEY) is None


@given(
    st.lists(st.sampled_from(["Approve", "Reject"]), max_size=5), st.lists(st.text(max_size=12), max_size=5)
)
def test_stamped_decisions_always_carry_the_requesting_user(kinds: list[str], forged: list[str]) -> None:
    old = body([stamped(CAROL)])
    new = copy.deepcopy(old)
    for kind, user in zip(kinds, forged + [""] * len(kinds), strict=False):
        new["spec"]["decisions"].append({"decision": kind, "user": user})
    decisions = stamp_decisions(old, new, BOB, NOW, KEY) or [stamped(CAROL)]
    assert all(d["user"] == "bob" for d in decisions[1:])
    assert decisions[0] == stamped(CAROL)


MS_OLD = {"metadata": {"annotations": {LAST_MODIFIED_BY: "alice"}}, "spec": {"type": "generic"}}


@pytest.mark.parametrize(
    ("operation", "old", "new", "who", "expected"),
    [
        ("CREATE", None, {"metadata": {}, "spec": {}}, BOB, "bob"),
        ("UPDATE", MS_OLD, {"metadata": {}, "spec": {"type": "jwt"}}, BOB, "bob"),
        (
            "UPDATE",
            MS_OLD,
            {"metadata": {"annotations": {LAST_MODIFIED_BY: "bob"}}, "spec": {"type": "generic"}},
            BOB,
            "alice",
        ),
        ("UPDATE", {"metadata": {}, "spec": {}}, {"metadata": {}, "spec": {}}, BOB, None),
    ],
    ids=["create-stamps", "spec-change-stamps", "forged-annotation-restored", "metadata-only-keeps-none"],
)
def test_last_modified_by(
    operation: str, old: dict[str, Any] | None, new: dict[str, Any], who: Approver, expected: str | None
) -> None:
    assert stamp_last_modified_by(operation, old, new, who) == expected


def test_expiry_boundary_is_closed() -> None:
    old = body(expiresAt="2026-01-01T12:00:00Z")
    assert "expired" in (problem(old, appended(old, BOB), BOB) or "")
    later = admission_problem(
        "UPDATE", old, appended(old, BOB), who=BOB, policy=POLICY, now=NOW - timedelta(seconds=1), key=KEY
    )
    assert later is None
