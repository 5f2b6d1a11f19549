"""Whole objects of one resource, listed and watched in threads, handed to the event loop in order.

ManagedSecrets come this way instead of through kopf: kopf ran its per-object machinery (a
worker task, a body wrapper, loggers, handler selection, patch bookkeeping) for every watch
event, and every sync causes at least one event (its status patch). Here an event costs its JSON
decoding in the watch thread and one call on the loop.

At most ``PENDING_LIMIT`` events wait for the loop: a list of 100,000 objects decodes faster than
the loop takes them, and waiting bodies are whole dicts, so the watch thread waits instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from typing import Any

from vaultsync.backends.kube_http import KubeHttp
from vaultsync.sync.list_watch import Key, ListWatch, WatchedResource

PENDING_LIMIT = 1000
STOP_CHECK_SECONDS = 0.5

OnEvent = Callable[[str, dict[str, Any]], None]
"""(``ADDED``/``MODIFIED``/``DELETED``, the object), on the event loop."""
OnRelisted = Callable[[str | None, set[Key]], None]
"""(the namespace or None for all, every (namespace, name) a fresh list held), on the event loop."""


class ObjectFeed:
    def __init__(
        self,
        http: KubeHttp,
        resource: WatchedResource,
        namespaces: Iterable[str],
        *,
        loop: asyncio.AbstractEventLoop,
        on_event: OnEvent,
        on_relisted: OnRelisted,
    ) -> None:
        self._loop = loop
        self._on_event = on_event
        self._on_relisted = on_relisted
        self._room = threading.BoundedSemaphore(PENDING_LIMIT)
        self._loops = ListWatch(http, resource, namespaces, self._event, self._relisted)

    def start(self) -> None:
        self._loops.start()

    def stop(self) -> None:
        self._loops.stop()

    def _hand_over(self, call: Callable[..., None], *args: Any) -> None:
        while not self._room.acquire(timeout=STOP_CHECK_SECONDS):
            if self._loops.stopped.is_set():
                return
        try:
            self._loop.call_soon_threadsafe(self._run, call, *args)
        except RuntimeError:  # the loop has closed: the operator is stopping
            self._room.release()

    def _run(self, call: Callable[..., None], *args: Any) -> None:
        self._room.release()
        call(*args)

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        self._hand_over(self._on_event, kind, obj)

    def _relisted(self, namespace: str | None, listed: set[Key]) -> None:
        self._hand_over(self._on_relisted, namespace, listed)
