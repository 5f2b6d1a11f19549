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


def rfc3339(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def deleting_fields(previous: Mapping[str, Any], now: datetime, restorable_until: datetime) -> dict[str, Any]:
    """``status`` fields of phase Deleting; a retried deletion keeps its first ``deletedAt``."""
    return {
        "phase": "Deleting",
        "deletedAt": previous.get("deletedAt") or rfc3339(now),
        "restorableUntil": rfc3339(restorable_until),
    }


def deletion_message(summary: DeletionSummary, retention_days: int) -> str:
    """The ``Deleted`` event: what can come back, until when, and what is gone for good."""
    parts = []
    if summary.restorable:
        until = (
            f"until {rfc3339(summary.restorable_until)}"
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
