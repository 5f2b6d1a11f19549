"""An in-memory vault for the sync service's unit tests, held to the backend contract.

It passes ``tests/contract`` like the real servers (as the ``memory`` target), so a unit test of
the engine that uses it tests the engine against what every backend promises, not against a
mock's idea of it. Soft delete with a retention window, compare-and-set, create without a read,
ownership marks, change listing by version token, and an outage switch (``down``).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vaultsync.backends.errors import Conflict, InvalidConfig, NotFound, Unavailable
from vaultsync.backends.interface import (
    TYPE_KEY,
    CallCounter,
    Capabilities,
    ChangeMarker,
    ChangeSet,
    DeleteResult,
    Document,
    PermissionReport,
    RemoteSecret,
    changes_between,
    check_ownership,
    metadata_from_marks,
    ownership_marks,
)


@dataclass
class _Entry:
    document: Document
    version: int
    marks: dict[str, str]
    deleted_until: datetime | None = None
    """Soft-deleted and restorable until then; None while live."""


@dataclass
class MemoryVault:
    """Thread-safe; ``down`` makes every call :class:`Unavailable` (an outage)."""

    name: str = "memory"
    down: bool = False
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(soft_delete=True))
    calls: CallCounter = field(default_factory=CallCounter)
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clock: int = 0

    def _enter(self, operation: str) -> None:
        self.calls.add(operation)
        if self.down:
            raise Unavailable(f"{self.name}: vault unreachable")

    def _live(self, path: str) -> _Entry | None:
        entry = self._entries.get(path)
        return entry if entry is not None and entry.deleted_until is None else None

    def read(self, path: str) -> RemoteSecret:
        self._enter("read")
        with self._lock:
            entry = self._live(path)
            if entry is None:
                raise NotFound(f"{path}: not found")
            return RemoteSecret(
                copy.deepcopy(entry.document), str(entry.version), metadata_from_marks(entry.marks)
            )

    def write(
        self,
        path: str,
        secret_type: str,
        document: Document,
        *,
        owner: str,
        expected_version: str | None,
        adopt: bool = False,
    ) -> str:
        self._enter("write")
        with self._lock:
            entry = self._live(path)
            if entry is None:
                if expected_version is not None:
                    raise Conflict(f"{path}: expected version {expected_version}, but it does not exist")
            else:
                check_ownership(path, metadata_from_marks(entry.marks), owner, adopt=adopt)
                if expected_version is not None and expected_version != str(entry.version):
                    raise Conflict(f"{path}: expected version {expected_version}, vault has {entry.version}")
            return self._store(path, secret_type, document, owner)

    def create(self, path: str, secret_type: str, document: Document, *, owner: str) -> str:
        self._enter("create")
        with self._lock:
            if path in self._entries:
                raise Conflict(f"{path}: the name is taken")
            return self._store(path, secret_type, document, owner)

    def _store(self, path: str, secret_type: str, document: Document, owner: str) -> str:
        self._clock += 1
        marks = {**ownership_marks(owner), TYPE_KEY: secret_type}
        self._entries[path] = _Entry(copy.deepcopy(dict(document)), self._clock, marks)
        return str(self._clock)

    def plant(self, path: str, document: Document) -> None:
        """A secret someone else wrote: no ownership mark."""
        with self._lock:
            self._clock += 1
            self._entries[path] = _Entry(copy.deepcopy(dict(document)), self._clock, {})

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        self._enter("delete")
        with self._lock:
            entry = self._live(path)
            if entry is None:
                raise NotFound(f"{path}: not found")
            check_ownership(path, metadata_from_marks(entry.marks), owner, adopt=adopt)
            if recovery_days == 0:
                del self._entries[path]
                return DeleteResult(restorable=False)
            until = datetime.now(UTC) + timedelta(days=recovery_days or 30)
            entry.deleted_until = until
            return DeleteResult(restorable=True, restorable_until=until)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        self._enter("restore")
        with self._lock:
            entry = self._entries.get(path)
            if entry is None or entry.deleted_until is None or entry.deleted_until < datetime.now(UTC):
                raise NotFound(f"{path}: nothing to restore")
            if owner is not None:
                check_ownership(path, metadata_from_marks(entry.marks), owner, adopt=False)
            entry.deleted_until = None

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        self._enter("list")
        with self._lock:
            tokens = {
                path: str(entry.version)
                for path, entry in self._entries.items()
                if entry.deleted_until is None and (paths is None or path in paths)
            }
        return changes_between(since, tokens, paths)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig(f"{self.name}: no enable switch")

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        self._enter("verify")
        return PermissionReport(checked=["read", "write", "list", "delete"], missing=[])

    def close(self) -> None:
        """Nothing to release."""

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.down = True
        try:
            yield
        finally:
            self.down = False

    def documents(self) -> Mapping[str, Document]:
        """What is live now, path -> document (for assertions)."""
        with self._lock:
            return {p: copy.deepcopy(e.document) for p, e in self._entries.items() if e.deleted_until is None}

    def tamper(self, path: str, document: Document) -> None:
        """Another client edits our secret: new content and version, our marks kept."""
        with self._lock:
            entry = self._entries[path]
            self._clock += 1
            entry.document, entry.version = copy.deepcopy(dict(document)), self._clock
