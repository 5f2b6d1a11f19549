"""Which Secrets changed, from the API server's metadata: listed once, then watched.

Three things make a Secret matter to a sync: it is a target vaultsync wrote (an edit is drift),
the source of a ``kubernetes`` profile, or a profile's credentials. None needs the Secret's data.
kopf watches whole objects, so every Secret of the cluster (Helm releases, service account
tokens, other tenants' credentials) crossed the wire with its data, and each of its events ran
kopf's per-object machinery before the filters dropped it. This watch asks for
``PartialObjectMetadata``: names, labels, annotations and resourceVersions only.

The loop is client-go's reflector, simplified: LIST (paged) then WATCH from the list's
resourceVersion with bookmarks; a watch that ends is resumed from the last resourceVersion seen;
one the server refuses as too old (410 Gone) starts over with a LIST, and every Secret the
consumer believed to exist that the new list lacks is delivered as deleted (it went while no
watch was open). Errors wait a backoff that grows to ``BACKOFF_CAP_SECONDS`` and retry for ever.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultsync.backends.errors import BackendError
from vaultsync.backends.interface import MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.kube_http import (
    METADATA_ONLY,
    WATCHED_METADATA_ONLY,
    KubeHttp,
    KubeStatusError,
    list_pages,
)
from vaultsync.sync.k8s_targets import MANAGED_LABEL

log = logging.getLogger(__name__)

PAGE = 500
WATCH_SECONDS = 300
"""How long the server keeps one watch request open (it then ends it; the loop resumes)."""
READ_SLACK_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 10.0
GONE = 410

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


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


@dataclass
class _Cursor:
    version: str | None = None
    """Where the next watch starts; None: list first."""


class SecretWatch:
    """One list-and-watch loop per watched namespace (or one for the cluster), each in a thread.

    ``deliver`` is called from those threads, once per change, in the order the server sent them;
    ``known`` answers which managed Secrets the consumer believes exist, with their owners (asked
    after each full list).
    """

    def __init__(
        self,
        http: KubeHttp,
        namespaces: Iterable[str],
        deliver: Callable[[SecretChange], None],
        known: Callable[[], Mapping[tuple[str, str], str | None]] = dict,
    ) -> None:
        self._http = http
        self._scopes: list[str | None] = list(namespaces) or [None]
        self._deliver = deliver
        self._known = known
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: list[Any] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for scope in self._scopes:
            thread = threading.Thread(
                target=self._run, args=(scope,), name=f"vaultsync-secret-watch-{scope or 'all'}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            responses, self._open = self._open, []
        for response in responses:
            with contextlib.suppress(RuntimeError):  # raised once the watch had ended by itself
                response.shutdown()  # unblocks the thread's read
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self, namespace: str | None) -> None:
        path = f"/api/v1/namespaces/{namespace}/secrets" if namespace else "/api/v1/secrets"
        cursor = _Cursor()
        failures = 0
        while not self._stopped.is_set():
            try:
                if cursor.version is None:
                    cursor.version = self._list(path, namespace)
                self._watch(path, cursor)
                failures = 0
            except (KubeStatusError, BackendError, ValueError) as e:
                if self._stopped.is_set():
                    break
                if isinstance(e, KubeStatusError) and e.status == GONE:
                    cursor.version = None  # too old to resume from: list again
                    continue
                failures += 1
                log.warning("watching Secrets (%s): %s; trying again", namespace or "all namespaces", e)
            if failures:
                self._stopped.wait(min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** min(failures, 5)))

    def _list(self, path: str, namespace: str | None) -> str:
        """Delivers every listed Secret (and every known one that is gone); the list's version."""
        listed: set[tuple[str, str]] = set()
        version = ""
        for page in list_pages(self._http, path, accept=METADATA_ONLY, page_size=PAGE):
            for item in page.get("items") or []:
                change = change_of(ADDED, item.get("metadata") or {})
                listed.add((change.namespace, change.name))
                self._deliver(change)
            version = str((page.get("metadata") or {}).get("resourceVersion") or version)
        for change in vanished(self._known(), listed, namespace):
            self._deliver(change)
        return version

    def _watch(self, path: str, cursor: _Cursor) -> None:
        """Delivers the watch's events until the server ends it, moving ``cursor`` past each one
        (a watch that fails resumes after the last event delivered, never replays it)."""
        query = [
            ("watch", "1"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", cursor.version),
            ("timeoutSeconds", WATCH_SECONDS),
        ]
        events = self._http.watch(
            path,
            query=query,
            accept=WATCHED_METADATA_ONLY,
            timeout=(5.0, WATCH_SECONDS + READ_SLACK_SECONDS),
            opened=self._opened,
        )
        for event in events:
            if self._stopped.is_set():
                break
            kind, obj = str(event.get("type")), event.get("object") or {}
            if kind == "ERROR":
                code = int(obj.get("code") or 0)
                raise KubeStatusError(code or 500, str(obj.get("reason") or "watch error"))
            metadata = obj.get("metadata") or {}
            if kind in (ADDED, MODIFIED, DELETED):
                self._deliver(change_of(kind, metadata))
            cursor.version = str(metadata.get("resourceVersion") or cursor.version)

    def _opened(self, response: Any) -> None:
        with self._lock:
            self._open = [r for r in self._open if not r.closed] + [response]
        if self._stopped.is_set():
            response.close()
