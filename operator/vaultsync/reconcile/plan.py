"""Deciding what a sync must do, from what was read: (desired, observed, last status) -> plan.

Pure: the caller reads the source and every target (or knows from change listings that
nothing moved) and hands the fingerprints in; the plan says which targets to write, whether
a new version is recorded, and whether the change must wait for approval instead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from vaultsync.reconcile.targets import TargetKey


class Operation(StrEnum):
    """The kinds of change an approval policy can gate (the API of ApprovalRequest)."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    CHANGE_SOURCE = "ChangeSource"


class WriteReason(StrEnum):
    MISSING = "Missing"
    """The target has no copy yet."""
    UPDATE = "Update"
    """The source content changed."""
    DRIFT = "Drift"
    """The target was changed out of band; the synced content is put back."""


@dataclass(frozen=True)
class ObservedTarget:
    """What one target holds now."""

    key: TargetKey
    exists: bool
    fingerprint: str | None = None
    """Fingerprint of the target's content; ``None`` when absent or unreadable as the type."""
    version: str | None = None
    """The target's version id, for compare-and-set."""


@dataclass(frozen=True)
class SyncInput:
    source_fingerprint: str
    source_identity: str
    """``<profile>:<path>`` of the source, to notice a change of source."""
    last_fingerprint: str | None
    """The fingerprint of the last synced version; ``None`` before the first sync."""
    last_source_identity: str | None
    targets: Sequence[ObservedTarget]
    gated: Collection[Operation] = ()
    """Operations the governing approval policy gates."""
    approved_fingerprint: str | None = None
    """Content an approval covers (the fingerprint of a request its decisions approve, this sync)."""
    last_trusted: bool = True
    """False when the operator cannot vouch for ``last_fingerprint`` (its sealed record is missing
    or does not verify): then any push is a change, gated as such."""
    lagging: Collection[str] = ()
    """Ids of targets whose last write failed (an outage): a copy that differs there is catching
    up with the last synced version, not drift. Read from status, it only names the cause."""


@dataclass(frozen=True)
class TargetWrite:
    key: TargetKey
    reason: WriteReason
    expected_version: str | None


@dataclass(frozen=True)
class SyncPlan:
    operation: Operation | None
    """The change this sync makes; ``None`` when the content is what was last synced."""
    writes: tuple[TargetWrite, ...] = ()
    new_version: bool = False
    needs_approval: bool = False
    in_sync: tuple[TargetKey, ...] = field(default=())

    @property
    def drifted(self) -> tuple[TargetKey, ...]:
        return tuple(w.key for w in self.writes if w.reason is WriteReason.DRIFT)


def change_operation(data: SyncInput) -> Operation | None:
    """Create before the first sync, ChangeSource when the source moved, Update when content changed.

    When the last push cannot be vouched for, the change is whichever of them is gated, so an
    edited status never turns a gated change into drift repair.
    """
    if data.last_fingerprint is None:
        return Operation.CREATE
    moved = data.last_source_identity is not None and data.last_source_identity != data.source_identity
    natural = Operation.CHANGE_SOURCE if moved else Operation.UPDATE
    if not data.last_trusted:
        preferred = (natural, Operation.UPDATE, Operation.CHANGE_SOURCE)
        gated = next((op for op in preferred if op in data.gated), None)
        if gated is not None:
            return gated
    if moved:
        return Operation.CHANGE_SOURCE
    if data.last_fingerprint != data.source_fingerprint:
        return Operation.UPDATE
    return None


def _all_hold_source(data: SyncInput) -> bool:
    return all(t.exists and t.fingerprint == data.source_fingerprint for t in data.targets)


def plan_sync(data: SyncInput) -> SyncPlan:
    if not data.last_trusted and data.last_fingerprint is not None and _all_hold_source(data) and data.gated:
        # Nothing to push: every target already holds the source; the record is written again.
        return SyncPlan(operation=None, in_sync=tuple(t.key for t in data.targets))
    operation = change_operation(data)
    if (
        operation is not None
        and operation in data.gated
        and data.approved_fingerprint != data.source_fingerprint
    ):
        return SyncPlan(operation=operation, needs_approval=True)
    writes: list[TargetWrite] = []
    in_sync: list[TargetKey] = []
    for target in data.targets:
        if not target.exists:
            writes.append(TargetWrite(target.key, WriteReason.MISSING, None))
        elif target.fingerprint != data.source_fingerprint:
            drift = operation is None and target.key.id not in data.lagging
            reason = WriteReason.DRIFT if drift else WriteReason.UPDATE
            writes.append(TargetWrite(target.key, reason, target.version))
        else:
            in_sync.append(target.key)
    return SyncPlan(
        operation=operation,
        writes=tuple(writes),
        new_version=operation is not None,
        in_sync=tuple(in_sync),
    )
