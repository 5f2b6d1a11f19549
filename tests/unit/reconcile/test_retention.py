"""What a Delete leaves restorable, until when, and what the Deleted event says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.reconcile.retention import (
    CopyDeletion,
    CopyFate,
    deleting_fields,
    deletion_message,
    planned_window,
    summarize,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SOON, LATER = NOW + timedelta(days=7), NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("deletions", "restorable", "permanent", "problems", "until"),
    [
        pytest.param([], (), (), (), None, id="nothing"),
        pytest.param(
            [
                CopyDeletion("aws:a", CopyFate.RESTORABLE, LATER),
                CopyDeletion("bao:b", CopyFate.RESTORABLE, SOON),
            ],
            ("aws:a", "bao:b"),
            (),
            (),
            SOON,
            id="earliest-window-wins",
        ),
        pytest.param(
            [CopyDeletion("bao:b", CopyFate.RESTORABLE, None)], ("bao:b",), (), (), None, id="no-deadline"
        ),
        pytest.param(
            [
                CopyDeletion("Secret n/s", CopyFate.PERMANENTLY_DELETED),
                CopyDeletion("aws:a", CopyFate.ABSENT),
            ],
            (),
            ("Secret n/s",),
            (),
            None,
            id="permanent-and-absent",
        ),
        pytest.param(
            [CopyDeletion("aws:a", CopyFate.FAILED, problem="aws:a: throttled")],
            (),
            (),
            ("aws:a: throttled",),
            None,
            id="failure-is-a-problem",
        ),
    ],
)
def test_summarize(
    deletions: list[CopyDeletion],
    restorable: tuple[str, ...],
    permanent: tuple[str, ...],
    problems: tuple[str, ...],
    until: datetime | None,
) -> None:
    summary = summarize(deletions)
    assert (summary.restorable, summary.permanent, summary.problems) == (restorable, permanent, problems)
    assert summary.restorable_until == until
    assert summary.done is (not problems)


@pytest.mark.parametrize(
    ("previous", "deleted_at"),
    [
        pytest.param({}, "2026-01-01T12:00:00Z", id="first-attempt"),
        pytest.param({"deletedAt": "2025-12-31T00:00:00Z"}, "2025-12-31T00:00:00Z", id="retry-keeps-first"),
    ],
)
def test_deleting_fields(previous: dict[str, str], deleted_at: str) -> None:
    fields = deleting_fields(previous, NOW, planned_window(NOW, 30))
    assert fields == {"phase": "Deleting", "deletedAt": deleted_at, "restorableUntil": "2026-01-31T12:00:00Z"}


@pytest.mark.parametrize(
    ("deletions", "expected"),
    [
        pytest.param(
            [
                CopyDeletion("aws:a", CopyFate.RESTORABLE, SOON),
                CopyDeletion("Secret n/s", CopyFate.PERMANENTLY_DELETED),
            ],
            "soft-deleted 1 vault copies, restorable until 2026-01-08T12:00:00Z (retention 30 days): "
            "recreate this ManagedSecret to restore them; removed permanently: Secret n/s",
            id="both",
        ),
        pytest.param(
            [CopyDeletion("bao:b", CopyFate.RESTORABLE)],
            "soft-deleted 1 vault copies, restorable with no deadline set by the vault (retention 30 days): "
            "recreate this ManagedSecret to restore them",
            id="no-deadline",
        ),
        pytest.param([], "nothing vaultsync owns was left to delete", id="nothing"),
    ],
)
def test_deletion_message(deletions: list[CopyDeletion], expected: str) -> None:
    assert deletion_message(summarize(deletions), 30) == expected


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=8))
def test_the_reported_window_is_never_later_than_any_copy(days: list[int]) -> None:
    deletions = [
        CopyDeletion(f"t{i}", CopyFate.RESTORABLE, NOW + timedelta(days=d)) for i, d in enumerate(days)
    ]
    until = summarize(deletions).restorable_until
    assert until is not None
    assert all(until <= d.restorable_until for d in deletions if d.restorable_until)
