"""The operator's own list-and-watch loop (client-go's reflector, simplified), in threads.

LIST (paged) then WATCH from the list's resourceVersion with bookmarks; a watch that ends is
resumed after the last event delivered, never replaying one; a watch (or a page) the server
refuses as too old (410 Gone) starts over with a LIST, and the consumer is told which objects the
new list holds, so it can treat the ones it knew and the list lacks as deleted (they went while no
watch was open). Errors wait a backoff that grows to ``BACKOFF_CAP_SECONDS`` and retry for ever.

Used for Secrets (as metadata) and for ManagedSecrets (whole objects): kopf's watch ran its
per-object machinery for every event, most of the operator's CPU per sync besides the SDKs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vaultsync.backends.errors import BackendError
from vaultsync.backends.kube_http import GONE, KubeHttp, KubeStatusError, list_pages

log = logging.getLogger(__name__)

PAGE = 500
WATCH_SECONDS = 300
"""How long the server keeps one watch request open (it then ends it; the loop resumes)."""
READ_SLACK_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 10.0

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

Key = tuple[str, str]
"""(namespace, name)"""


@dataclass(frozen=True)
class WatchedResource:
    """What one loop lists and watches, and how it asks."""

    what: str
    """For log lines: ``Secrets``, ``ManagedSecrets``."""
    path_of: Callable[[str | None], str]
    """The collection's path in a namespace, or in every namespace for None."""
    list_accept: str = "application/json"
    watch_accept: str = "application/json"


@dataclass
class _Cursor:
    version: str | None = None
    """Where the next watch starts; None: list first."""


def key_of(obj: Mapping[str, Any]) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace")), str(metadata.get("name"))


def owner_of(obj: Mapping[str, Any]) -> str:
    """``namespace/name``: how the scheduler and the finalizer queue name an object."""
    return "/".join(key_of(obj))


class ListWatch:
    """One list-and-watch loop per watched namespace (or one for the cluster), each in a thread.

    ``deliver(type, object)`` is called from those threads, once per event, in the order the
    server sent them (a list delivers each item as ``ADDED``); ``relisted(namespace, keys)`` after
    each full list, with every (namespace, name) it held.
    """

    def __init__(
        self,
        http: KubeHttp,
        resource: WatchedResource,
        namespaces: Iterable[str],
        deliver: Callable[[str, dict[str, Any]], None],
        relisted: Callable[[str | None, set[Key]], None],
    ) -> None:
        self._http = http
        self._resource = resource
        self._scopes: list[str | None] = list(namespaces) or [None]
        self._deliver = deliver
        self._relisted = relisted
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: list[Any] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for scope in self._scopes:
            name = f"vaultsync-watch-{self._resource.what.lower()}-{scope or 'all'}"
            thread = threading.Thread(target=self._run, args=(scope,), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            responses, self._open = self._open, []
        for response in responses:
            with contextlib.suppress(RuntimeError):  # raised once the watch had ended by itself
                response.shutdown()  # unblocks the thread's read
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self, namespace: str | None) -> None:
        path = self._resource.path_of(namespace)
        cursor = _Cursor()
        failures = 0
        while not self.stopped.is_set():
            try:
                if cursor.version is None:
                    cursor.version = self._list(path, namespace)
                self._watch(path, cursor)
                failures = 0
            except (KubeStatusError, BackendError, ValueError) as e:
                if self.stopped.is_set():
                    break
                if isinstance(e, KubeStatusError) and e.status == GONE:
                    cursor.version = None  # too old to resume from: list again
                    continue
                failures += 1
                where = namespace or "all namespaces"
                log.warning("watching %s (%s): %s; trying again", self._resource.what, where, e)
            if failures:
                self.stopped.wait(min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** min(failures, 5)))

    def _list(self, path: str, namespace: str | None) -> str:
        """Delivers every listed object, then the keys the list held; the version to watch from:
        the first page's (a list whose snapshot expired went on from a newer one, see
        ``list_pages``: a watch from there would miss what changed in between)."""
        listed: set[Key] = set()
        version = ""
        for page in list_pages(self._http, path, accept=self._resource.list_accept, page_size=PAGE):
            for item in page.get("items") or []:
                listed.add(key_of(item))
                self._deliver(ADDED, item)
            version = version or str((page.get("metadata") or {}).get("resourceVersion") or "")
        self._relisted(namespace, listed)
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
            accept=self._resource.watch_accept,
            timeout=(5.0, WATCH_SECONDS + READ_SLACK_SECONDS),
            opened=self._opened,
        )
        for event in events:
            if self.stopped.is_set():
                break
            kind, obj = str(event.get("type")), event.get("object") or {}
            if kind == "ERROR":
                code = int(obj.get("code") or 0)
                raise KubeStatusError(code or 500, str(obj.get("reason") or "watch error"))
            if kind in (ADDED, MODIFIED, DELETED):
                self._deliver(kind, obj)
            cursor.version = str((obj.get("metadata") or {}).get("resourceVersion") or cursor.version)

    def _opened(self, response: Any) -> None:
        with self._lock:
            self._open = [r for r in self._open if not r.closed] + [response]
        if self.stopped.is_set():
            response.close()
