"""A deletion that cannot finish releases its finalizer only when waiting cannot help, and late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vaultsync.reconcile.retention import CopyDeletion, CopyFate, left_behind_message, release_due, summarize

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WAIT = timedelta(minutes=5)
GONE = CopyDeletion(
    "bao:a", CopyFate.FAILED, problem="bao:a: VaultProfile n/bao not found", profile_gone=True
)
DOWN = CopyDeletion("aws:b", CopyFate.FAILED, problem="aws:b: unavailable")
DONE = CopyDeletion("Secret n/s", CopyFate.PERMANENTLY_DELETED)


@pytest.mark.parametrize(
    ("deletions", "terminating", "started", "expected"),
    [
        pytest.param([GONE], False, NOW - WAIT, True, id="profile-gone-after-wait"),
        pytest.param([GONE], False, NOW - WAIT / 2, False, id="profile-gone-before-wait"),
        pytest.param([DOWN], True, NOW - WAIT, True, id="namespace-terminating-after-wait"),
        pytest.param([DOWN], False, NOW - WAIT * 10, False, id="vault-down-keeps-retrying"),
        pytest.param([DONE], True, NOW - WAIT, False, id="nothing-failed"),
        pytest.param([GONE], True, None, False, id="no-deletion-timestamp"),
    ],
)
def test_release_due(
    deletions: list[CopyDeletion], terminating: bool, started: datetime | None, expected: bool
) -> None:
    assert (
        release_due(deletions, namespace_terminating=terminating, deleted_at=started, now=NOW, wait=WAIT)
        is expected
    )


def test_the_warning_names_every_copy_left_behind() -> None:
    message = left_behind_message(summarize([GONE, DOWN, DONE]), WAIT)
    assert "after 300 s" in message
    assert "bao:a" in message
    assert "aws:b" in message
    assert "Secret n/s" not in message
