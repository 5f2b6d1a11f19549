"""The sealed approval record: what the operator may take from a status someone else can write."""

from __future__ import annotations

from typing import Any

import pytest

from vaultsync.approvals.integrity import ApprovalRecord, decisions_digest, recall

KEY = b"k" * 32
UID = "ms-1"
FP_A, FP_B = "hmac-sha256:" + "a" * 64, "hmac-sha256:" + "b" * 64
SOURCE = "vault:ns/bao:app/db"


def record(**overrides: Any) -> dict[str, str]:
    fields: dict[str, Any] = {
        "fingerprint": FP_A,
        "source_identity": SOURCE,
        "request": "db-update-aaaaaaaaaa",
        "request_uid": "r-1",
        "decisions_digest": decisions_digest([{"decision": "Approve", "user": "bob"}]),
    }
    fields.update(overrides)
    return ApprovalRecord(**fields).sealed(KEY, UID).as_status()


GOOD = {"fingerprint": FP_A, "sourceIdentity": SOURCE, "approvedFingerprint": FP_A, "approval": record()}


@pytest.mark.parametrize(
    ("status", "trusted", "fingerprint", "problem"),
    [
        ({}, True, None, None),
        (GOOD, True, FP_A, None),
        ({"fingerprint": FP_A, "sourceIdentity": SOURCE}, False, FP_A, None),
        ({**GOOD, "approval": None, "approvedFingerprint": FP_B}, False, FP_A, "without the operator's"),
        ({**GOOD, "approval": {**record(), "fingerprint": FP_B}}, False, FP_A, "does not carry"),
        ({**GOOD, "approval": {**record(), "requestUid": "r-2"}}, False, FP_A, "does not carry"),
        (
            {**GOOD, "approval": {**record(), "seal": "hmac-sha256:" + "0" * 64}},
            False,
            FP_A,
            "does not carry",
        ),
        ({**GOOD, "approval": ApprovalRecord(FP_A).sealed(b"x" * 32, UID).as_status()}, False, FP_A, "does"),
        ({**GOOD, "fingerprint": FP_B}, True, FP_A, "differ from"),
        ({**GOOD, "approvedFingerprint": FP_B}, True, FP_A, "differ from"),
        ({**GOOD, "approval": record(request="", request_uid="", decisions_digest="")}, True, FP_A, "differ"),
    ],
    ids=[
        "first-sync",
        "sealed-record-verifies",
        "no-record-untrusted-silently",
        "approved-fingerprint-without-record",
        "record-fingerprint-edited",
        "record-request-swapped",
        "record-seal-forged",
        "record-of-another-key",
        "status-fingerprint-edited-record-wins",
        "approved-fingerprint-edited",
        "approved-fingerprint-claimed-for-an-ungated-push",
    ],
)
def test_recall(status: dict[str, Any], trusted: bool, fingerprint: str | None, problem: str | None) -> None:
    found = recall(status, UID, KEY)
    assert (found.trusted, found.fingerprint) == (trusted, fingerprint)
    assert (found.problem is None) if problem is None else problem in (found.problem or "")


def test_a_record_is_bound_to_its_managed_secret() -> None:
    assert not recall(GOOD, "ms-2", KEY).trusted


def test_the_digest_changes_with_any_decision_field() -> None:
    base = [{"decision": "Approve", "user": "bob", "groups": ["sec"], "at": "t", "seal": "s"}]
    edited = [{**base[0], "user": "carol"}]
    assert decisions_digest(base) != decisions_digest(edited)
    assert decisions_digest(base) != decisions_digest(base + base)
