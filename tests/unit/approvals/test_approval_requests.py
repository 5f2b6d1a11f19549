"""The body of an ApprovalRequest the operator opens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vaultsync.approvals.lifecycle import RequestView, Wanted
from vaultsync.approvals.requests import request_body, source_of_identity

FP = "hmac-sha256:" + "c" * 64
META = {"name": "db", "namespace": "apps", "uid": "u-1", "generation": 5}


def test_request_body_is_owned_by_the_secret_and_reads_back() -> None:
    body = request_body(
        META,
        Wanted("Update", FP),
        summary={"keysChanged": ["password"]},
        requested_by="source vault",
        expires_at=datetime(2026, 1, 4, tzinfo=UTC),
        attempt=2,
    )
    owner = body["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("ManagedSecret", "u-1", True)
    assert body["metadata"]["name"] == "db-update-cccccccccc-2"
    assert body["spec"]["expiresAt"] == "2026-01-04T00:00:00Z"
    assert "decisions" not in body["spec"]
    view = RequestView.of(body, b"k" * 32)
    assert (view.operation, view.fingerprint, view.generation, view.attempt) == ("Update", FP, 5, 2)
    assert view.requested_by == "source vault"


def test_unknown_requester_is_left_out() -> None:
    body = request_body(
        META,
        Wanted("Delete", FP),
        summary={},
        requested_by=None,
        expires_at=datetime(2026, 1, 1, tzinfo=UTC),
        attempt=1,
    )
    assert "requestedBy" not in body["spec"]


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (
            "vault:apps/bao:apps/db:prod",
            {"vaultProfile": {"name": "bao", "namespace": "apps"}, "path": "apps/db:prod"},
        ),
        ("secret:apps/db", None),
        ("vault:nonsense", None),
        (None, None),
    ],
    ids=["vault-source", "not-a-vault", "malformed", "missing"],
)
def test_source_of_identity(identity: str | None, expected: dict[str, Any] | None) -> None:
    assert source_of_identity(identity) == expected
