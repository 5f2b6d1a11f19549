"""``vaultsync approvals``: the listing and the plain messages of refused decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from vaultsync.cli_approvals import age, describe_summary, format_table, refusal_message

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


class FakeApiError:
    """The two attributes of ``kubernetes.client.ApiException`` the message is built from."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.body = json.dumps({"message": message})


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (
            403,
            'admission webhook "validate.approvalrequests.vaultsync.io" denied the request: '
            "dave is not an approver of Update for ManagedSecret db",
            "dave is not an approver of Update for ManagedSecret db",
        ),
        (
            500,
            'Internal error occurred: failed calling webhook "mutate.approvalrequests.vaultsync.io": refused',
            "the vaultsync admission webhook is unavailable; decisions are refused until it is back",
        ),
        (
            403,
            'approvalrequests "x" is forbidden: User "eve" cannot patch',
            'not allowed by RBAC: approvalrequests "x" is forbidden: User "eve" cannot patch',
        ),
        (422, "", "HTTP 422"),
    ],
    ids=["webhook-denial", "webhook-down", "rbac", "bare-status"],
)
def test_refusal_message(status: int, message: str, expected: str) -> None:
    assert refusal_message(FakeApiError(status, message)) == expected


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (
            {"keysAdded": ["host"], "keysRemoved": ["port"], "keysChanged": ["password"]},
            "+host -port ~password",
        ),
        (
            {
                "oldSource": {"vaultProfile": {"name": "bao"}, "path": "a"},
                "newSource": {"vaultProfile": {"name": "aws"}, "path": "b"},
            },
            "source bao:a -> aws:b",
        ),
        (None, "-"),
    ],
    ids=["keys", "source-move", "empty"],
)
def test_describe_summary(summary: dict[str, Any] | None, expected: str) -> None:
    assert describe_summary(summary) == expected


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2026-01-01T11:59:30Z", "30s"),
        ("2026-01-01T11:00:00Z", "1h"),
        ("2025-12-30T12:00:00Z", "2d"),
        (None, "-"),
    ],
    ids=["seconds", "hours", "days", "unknown"],
)
def test_age(created: str | None, expected: str) -> None:
    assert age(created, NOW) == expected


def test_table_lists_secret_operation_summary_and_age() -> None:
    item = {
        "metadata": {
            "name": "db-update-aaaaaaaaaa",
            "namespace": "apps",
            "creationTimestamp": "2026-01-01T11:55:00Z",
        },
        "spec": {
            "managedSecret": "db",
            "operation": "Update",
            "requestedBy": "source vault",
            "summary": {"keysChanged": ["password"]},
        },
        "status": {"phase": "Pending", "approvals": 1},
    }
    lines = format_table([item], NOW, all_namespaces=True).splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "SECRET",
        "OPERATION",
        "PHASE",
        "APPROVALS",
        "REQUESTED",
        "BY",
        "AGE",
        "SUMMARY",
    ]
    assert lines[1].split() == [
        "apps",
        "db-update-aaaaaaaaaa",
        "db",
        "Update",
        "Pending",
        "1",
        "source",
        "vault",
        "5m",
        "~password",
    ]
    assert format_table([], NOW) == "No pending ApprovalRequests.\n"
