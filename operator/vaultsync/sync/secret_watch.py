"""Which Secrets changed, from the API server's metadata: listed once, then watched.

Three things make a Secret matter to a sync: it is a target vaultsync wrote (an edit is drift),
the source of a ``kubernetes`` profile, or a profile's credentials. None needs the Secret's data.
kopf watches whole objects, so every Secret of the cluster (Helm releases, service account
tokens, other tenants' credentials) crossed the wire with its data, and each of its events ran
kopf's per-object machinery before the filters dropped it. This watch (``sync.list_watch``) asks
for ``PartialObjectMetadata``: names, labels, annotations and resourceVersions only. After a
fresh list, every Secret the consumer believed to exist that the list lacks is delivered as
deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultsync.backends.interface import MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.kube_http import METADATA_ONLY, WATCHED_METADATA_ONLY, KubeHttp
from vaultsync.sync.k8s_targets import MANAGED_LABEL
from vaultsync.sync.list_watch import ADDED, DELETED, MODIFIED, Key, ListWatch, WatchedResource

__all__ = ("ADDED", "DELETED", "MODIFIED", "SecretChange", "SecretWatch", "change_of", "vanished")


def _secrets_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" if namespace else "/api/v1/secrets"


@dataclass(frozen=True)
class SecretChange:
    type: str
    """``ADDED``, ``MODIFIED`` or ``DELETED``."""
    namespace: str
    name: str
    resource_version: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


def change_of(event_type: str, metadata: Mapping[str, Any]) -> SecretChange:
    return SecretChange(
        event_type,
        str(metadata.get("namespace")),
        str(metadata.get("name")),
        str(metadata.get("resourceVersion")),
        dict(metadata.get("labels") or {}),
        dict(metadata.get("annotations") or {}),
    )


def vanished(
    known: Mapping[tuple[str, str], str | None], listed: Collection[tuple[str, str]], namespace: str | None
) -> list[SecretChange]:
    """The managed Secrets the consumer believed to exist (in ``namespace``, or anywhere when
    None; each with its owner) that a fresh list no longer holds."""
    return [
        SecretChange(
            DELETED,
            ns,
            name,
            "",
            {MANAGED_LABEL: MANAGED_BY_VALUE},
            {OWNER_KEY: owner} if owner else {},
        )
        for (ns, name), owner in sorted(known.items())
        if (namespace is None or ns == namespace) and (ns, name) not in listed
    ]


class SecretWatch:
    """The list-and-watch loops of Secrets as metadata.

    ``deliver`` is called from the loops' threads, once per change, in the order the server sent
    them; ``known`` answers which managed Secrets the consumer believes exist, with their owners
    (asked after each full list).
    """

    def __init__(
        self,
        http: KubeHttp,
        namespaces: Iterable[str],
        deliver: Callable[[SecretChange], None],
        known: Callable[[], Mapping[tuple[str, str], str | None]] = dict,
    ) -> None:
        self._deliver = deliver
        self._known = known
        secrets = WatchedResource("Secrets", _secrets_path, METADATA_ONLY, WATCHED_METADATA_ONLY)
        self._loops = ListWatch(http, secrets, namespaces, self._event, self._relisted)

    def start(self) -> None:
        self._loops.start()

    def stop(self) -> None:
        self._loops.stop()

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        self._deliver(change_of(kind, obj.get("metadata") or {}))

    def _relisted(self, namespace: str | None, listed: set[Key]) -> None:
        for change in vanished(self._known(), listed, namespace):
            self._deliver(change)
