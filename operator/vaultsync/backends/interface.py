"""The small interface every vault backend implements, and the values it exchanges.

A backend stores *documents* (the JSON object of one secret, see ``vaultsync.secrets``)
plus the secret type; it does not validate content. Everything above this layer talks
to vaults only through :class:`Backend`, so every backend can be swapped for another
and the same contract suite can run against each of them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from vaultsync.backends.errors import NotOwned

Document = dict[str, Any]
"""The JSON object stored for one secret (field name -> JSON value)."""

MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "vaultsync"
OWNER_KEY = "vaultsync.io/owner"
TYPE_KEY = "vaultsync.io/type"
DELETED_AT_KEY = "vaultsync.io/deleted-at"
RESTORABLE_UNTIL_KEY = "vaultsync.io/restorable-until"
"""Marks of a soft delete, kept where the vault itself records no retention window (KV v2)."""


@dataclass(frozen=True)
class RemoteMetadata:
    """What a vault tells about a secret besides its content."""

    managed: bool
    """True when the secret carries ``managed-by: vaultsync``."""
    owner: str | None
    """The ``<namespace>/<name>`` of the ManagedSecret that wrote it, when marked."""
    secret_type: str | None = None
    """The secret type recorded at write time, when the vault keeps it."""
    updated_at: datetime | None = None
    """When the current version was written, if the vault says."""
    enabled: bool = True
    """False only for vaults with a disable switch (Azure) when it is off."""


@dataclass(frozen=True)
class RemoteSecret:
    """One read of a secret: its document, the vault's version id and metadata."""

    document: Document = field(repr=False)
    version: str
    metadata: RemoteMetadata


@dataclass(frozen=True)
class DeleteResult:
    """The outcome of a delete."""

    restorable: bool
    """True when :meth:`Backend.restore` can bring the secret back."""
    restorable_until: datetime | None = None
    """The end of the retention window; ``None`` with ``restorable`` means no expiry."""


@dataclass(frozen=True)
class ChangeMarker:
    """Opaque memory of what :meth:`Backend.list_changes` saw: path -> version token."""

    tokens: Mapping[str, str]


@dataclass(frozen=True)
class ChangeSet:
    """The paths that changed (written, created or deleted) since a marker, and the new marker."""

    changed: frozenset[str]
    marker: ChangeMarker


@dataclass(frozen=True)
class PermissionReport:
    """Which permissions were probed and which are missing, in the vault's own words."""

    checked: list[str]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the common core; the contract suite reads these."""

    writable: bool = True
    soft_delete: bool = False
    atomic_compare_and_set: bool = True
    can_disable: bool = False


class Credentials(Mapping[str, str]):
    """Resolved credential values (e.g. ``token``, ``secretAccessKey``) keyed by field name.

    Built by the caller from the Kubernetes Secrets a VaultProfile references. The repr
    lists only the keys, never a value.
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Credentials(keys={sorted(self._values)})"


class CallCounter:
    """Counts SDK calls by operation, thread-safely; the benchmark and cost tests read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@runtime_checkable
class Backend(Protocol):
    """One vault. Methods are synchronous and safe to call from several threads at once."""

    capabilities: Capabilities
    calls: CallCounter

    def read(self, path: str) -> RemoteSecret:
        """The current version of ``path``; :class:`NotFound` when absent or deleted."""
        ...

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
        """Store ``document`` and return the new version id.

        ``expected_version=None`` means "must not exist yet, or must already be ours".
        A version means compare-and-set: :class:`Conflict` unless it is still current.
        A remote secret without our mark raises :class:`NotOwned` unless ``adopt``.
        """
        ...

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        """Delete ``path``: soft where the vault supports it (``recovery_days=0`` purges)."""
        ...

    def restore(self, path: str, *, owner: str | None = None) -> None:
        """Bring back a soft-deleted secret; :class:`NotFound` when nothing is restorable.

        With ``owner``, a deleted secret marked for another owner raises :class:`NotOwned`
        and stays deleted.
        """
        ...

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        """Which of ``paths`` (or of every path in scope) changed since ``since``."""
        ...

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        """Disable or re-enable a secret where the vault can (``capabilities.can_disable``)."""
        ...

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        """Probe read/write/list/delete (and tagging) below ``path_prefix``."""
        ...

    def close(self) -> None:
        """Release connections; the backend is unusable afterwards."""
        ...


@runtime_checkable
class CreatesNew(Protocol):
    """A backend that can create a copy without reading the name first.

    The sync of a new ManagedSecret then costs one call per such target instead of a read that
    finds nothing and a write. The engine falls back to a read and a plain write when the name
    turns out to be taken.
    """

    def create(self, path: str, secret_type: str, document: Document, *, owner: str) -> str:
        """Create ``path`` holding ``document`` and return its version id.

        :class:`Conflict` when anything holds the name, a soft-deleted secret included; nothing
        that exists is touched.
        """
        ...


def ownership_marks(owner: str) -> dict[str, str]:
    """The mark every write puts on a remote secret."""
    return {MANAGED_BY_KEY: MANAGED_BY_VALUE, OWNER_KEY: owner}


def metadata_from_marks(marks: Mapping[str, str] | None, **extra: Any) -> RemoteMetadata:
    """Read the ownership mark back from tags/labels/custom metadata."""
    marks = marks or {}
    managed = marks.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
    return RemoteMetadata(
        managed=managed,
        owner=marks.get(OWNER_KEY) if managed else None,
        secret_type=marks.get(TYPE_KEY),
        **extra,
    )


def check_ownership(path: str, metadata: RemoteMetadata, owner: str, *, adopt: bool) -> None:
    """Refuse to touch a remote secret that is not ours, unless adopting it explicitly."""
    if adopt:
        return
    if not metadata.managed:
        raise NotOwned(f"{path}: exists without the managed-by: vaultsync mark; set adopt to take it over")
    if metadata.owner != owner:
        raise NotOwned(
            f"{path}: managed by {metadata.owner or 'another owner'}, not {owner}",
            current_owner=metadata.owner,
        )


def changes_between(
    old: ChangeMarker | None, new_tokens: Mapping[str, str], scope: Collection[str] | None = None
) -> ChangeSet:
    """Compare version tokens: created, changed and vanished paths are all changes.

    With a ``scope`` (the paths asked about), only paths in it can count as vanished.
    """
    old_tokens = old.tokens if old is not None else {}
    changed = {p for p, token in new_tokens.items() if old_tokens.get(p) != token}
    if old is not None:
        candidates = set(old_tokens) if scope is None else set(old_tokens) & set(scope)
        changed |= candidates - set(new_tokens)
    return ChangeSet(changed=frozenset(changed), marker=ChangeMarker(dict(new_tokens)))
