"""What deleting a ManagedSecret with ``deletionPolicy: Delete`` leaves behind, and until when.

Vault copies are soft-deleted with a recovery window; Kubernetes Secrets (and KV v1) have no
soft delete and are gone at once. The ManagedSecret itself disappears when its finalizer is
removed, so the window is told three ways: ``status.deletedAt``/``restorableUntil`` while the
phase is ``Deleting``, an Event with the dates, and on the remote secret itself (natively in
AWS and Azure, in ``custom_metadata`` for Vault/OpenBao). Pure: the handler does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vaultsync.api.codec import status_time


class CopyFate(StrEnum):
    """What became of one copy."""

    RESTORABLE = "Restorable"
    PERMANENTLY_DELETED = "PermanentlyDeleted"
    ABSENT = "Absent"
    """Nothing of ours was there (already gone, or owned by someone else)."""
    FAILED = "Failed"


@dataclass(frozen=True)
class CopyDeletion:
    """The outcome of deleting one copy; ``problem`` names the target and error, never content."""

    target: str
    fate: CopyFate
    restorable_until: datetime | None = None
    problem: str | None = None
    profile_gone: bool = False
    """The copy's VaultProfile no longer exists: nothing can reach the copy any more."""


@dataclass(frozen=True)
class DeletionSummary:
    restorable: tuple[str, ...]
    permanent: tuple[str, ...]
    problems: tuple[str, ...]
    restorable_until: datetime | None
    """The earliest end of a recovery window among restorable copies (None: none, or no deadline)."""

    @property
    def done(self) -> bool:
        return not self.problems


def planned_window(now: datetime, retention_days: int) -> datetime:
    """The end of the recovery window vaultsync asks for, before any vault answers."""
    return now + timedelta(days=retention_days)


def summarize(deletions: Sequence[CopyDeletion]) -> DeletionSummary:
    deadlines = [
        d.restorable_until for d in deletions if d.fate is CopyFate.RESTORABLE and d.restorable_until
    ]
    return DeletionSummary(
        restorable=tuple(d.target for d in deletions if d.fate is CopyFate.RESTORABLE),
        permanent=tuple(d.target for d in deletions if d.fate is CopyFate.PERMANENTLY_DELETED),
        problems=tuple(d.problem or d.target for d in deletions if d.fate is CopyFate.FAILED),
        restorable_until=min(deadlines) if deadlines else None,
    )


def deleting_fields(previous: Mapping[str, Any], now: datetime, restorable_until: datetime) -> dict[str, Any]:
    """``status`` fields of phase Deleting; a retried deletion keeps its first ``deletedAt``."""
    return {
        "phase": "Deleting",
        "deletedAt": previous.get("deletedAt") or status_time(now),
        "restorableUntil": status_time(restorable_until),
    }


def deletion_message(summary: DeletionSummary, retention_days: int) -> str:
    """The ``Deleted`` event: what can come back, until when, and what is gone for good."""
    parts = []
    if summary.restorable:
        until = (
            f"until {status_time(summary.restorable_until)}"
            if summary.restorable_until
            else "with no deadline set by the vault"
        )
        parts.append(
            f"soft-deleted {len(summary.restorable)} vault copies, restorable {until} "
            f"(retention {retention_days} days): recreate this ManagedSecret to restore them"
        )
    if summary.permanent:
        parts.append(f"removed permanently: {', '.join(summary.permanent)}")
    return "; ".join(parts) or "nothing vaultsync owns was left to delete"


def release_due(
    deletions: Sequence[CopyDeletion],
    *,
    namespace_terminating: bool,
    deleted_at: datetime | None,
    now: datetime,
    wait: timedelta,
) -> bool:
    """Whether a deletion that keeps failing may release its finalizer, leaving copies behind.

    Only when waiting cannot help (a failed copy's VaultProfile is gone, or the namespace is being
    deleted and everything in it goes anyway) and only after ``wait`` since the deletion began:
    a namespace must never stay Terminating forever because of a copy nobody can reach.
    """
    failed = [d for d in deletions if d.fate is CopyFate.FAILED]
    if not failed or deleted_at is None:
        return False
    hopeless = namespace_terminating or any(d.profile_gone for d in failed)
    return hopeless and now - deleted_at >= wait


def left_behind_message(summary: DeletionSummary, waited: timedelta) -> str:
    """The Warning event of a released deletion: which copies are left, so someone can clean them up."""
    return (
        f"finalizer released after {int(waited.total_seconds())} s; copies left behind (delete them "
        f"by hand if they must go): {'; '.join(summary.problems)}"
    )
