"""Glue for ``spec.references``: a referenced ManagedSecret's new content re-renders dependents.

Every ManagedSecret event records which names it references, its synced fingerprint and its
state; when the fingerprint or state of a ManagedSecret moves (or it disappears), every
ManagedSecret of the namespace that references it is woken to render its templates again.
"""

from __future__ import annotations

import threading
from typing import Any

from vaultsync.handlers.runtime import runtime

Key = tuple[str, str]


class ReferenceIndex:
    """Who references whom, both ways: an event costs O(its references), never a scan of all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._references: dict[Key, frozenset[str]] = {}
        self._referenced_by: dict[Key, set[str]] = {}
        self._versions: dict[Key, str] = {}

    def observe(self, key: Key, references: frozenset[str], version: str, deleted: bool) -> set[str]:
        """Records one event; returns ``namespace/name`` of the dependents to wake."""
        namespace, name = key
        with self._lock:
            known = key in self._versions
            moved = deleted or (known and self._versions[key] != version)
            for old in self._references.get(key, frozenset()) - (frozenset() if deleted else references):
                self._unlink((namespace, old), name)
            if deleted:
                self._references.pop(key, None)
                self._versions.pop(key, None)
            else:
                for new in references - self._references.get(key, frozenset()):
                    self._referenced_by.setdefault((namespace, new), set()).add(name)
                self._references[key] = references
                self._versions[key] = version
            if not moved:
                return set()
            return {f"{namespace}/{d}" for d in self._referenced_by.get(key, ()) if d != name}

    def _unlink(self, referenced: Key, dependent: str) -> None:
        dependents = self._referenced_by.get(referenced)
        if dependents is not None:
            dependents.discard(dependent)
            if not dependents:
                del self._referenced_by[referenced]


REFERENCES = ReferenceIndex()


def observed(kind: str, body: dict[str, Any]) -> None:
    """One watch event of a ManagedSecret (``handlers.managedsecret.observed``)."""
    metadata, spec = body.get("metadata") or {}, body.get("spec") or {}
    key = (str(metadata.get("namespace")), str(metadata.get("name")))
    references = frozenset(spec.get("references") or ())
    # What dependents render from: the synced content, and whether it may be used at all.
    version = f"{(body.get('status') or {}).get('fingerprint')}|{spec.get('state')}"
    for owner in sorted(REFERENCES.observe(key, references, version, kind == "DELETED")):
        runtime().force_sync(owner)
