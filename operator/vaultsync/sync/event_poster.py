"""Kubernetes Events about ManagedSecrets and the workloads their syncs touch, posted in the background.

kopf posts events only from inside its own per-object handlers; ManagedSecrets are no longer
handled by kopf (``sync.object_feed``), so the operator posts its own. Events are auxiliary: a
post that fails is logged and dropped, never retried into a pile-up, and while more than
``QUEUE_LIMIT`` wait the newest are dropped (counted in the log). Events of one object keep their
order: each object always goes through the same one of ``WORKERS`` queues. The posts run in a
thread pool of their own: behind the syncs' jobs in the sync pool they waited so long at 100,000
new objects that two Events in three were dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vaultsync.backends.errors import BackendError
from vaultsync.backends.kube_http import KubeStatusError
from vaultsync.sync.kubeapi import KubeApi

log = logging.getLogger(__name__)

WORKERS = 4
QUEUE_LIMIT = 10_000
MAX_MESSAGE_LENGTH = 1024
CUT = "..."
COMPONENT = "vaultsync"


def reference(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``involvedObject`` of an object's body."""
    metadata = body.get("metadata") or {}
    ref = {"apiVersion": body.get("apiVersion"), "kind": body.get("kind")}
    ref.update({k: metadata[k] for k in ("namespace", "name", "uid", "resourceVersion") if metadata.get(k)})
    return ref


def _shortened(message: str) -> str:
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    half = (MAX_MESSAGE_LENGTH - len(CUT)) // 2
    return message[:half] + CUT + message[-half:]


def event_body(
    ref: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime
) -> dict[str, Any]:
    stamp = now.isoformat()
    return {
        "metadata": {"namespace": ref.get("namespace") or "default", "generateName": f"{COMPONENT}-"},
        "type": type_,
        "reason": reason,
        "message": _shortened(message),
        "action": reason,
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "source": {"component": COMPONENT},
        "involvedObject": dict(ref),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "count": 1,
    }


class EventPoster:
    """Queues events from the event loop; ``WORKERS`` tasks post them, each in a thread of its own."""

    def __init__(self, kube: KubeApi) -> None:
        self._kube = kube
        self._threads = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="vaultsync-events")
        self._queues: list[asyncio.Queue[dict[str, Any]]] = [asyncio.Queue() for _ in range(WORKERS)]
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(queue), name=f"vaultsync-events-{i}")
            for i, queue in enumerate(self._queues)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._threads.shutdown(wait=False, cancel_futures=True)

    def post(self, body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """An event about the object ``body`` (only apiVersion, kind and metadata are read)."""
        ref = reference(body)
        key = f"{ref.get('namespace')}/{ref.get('name')}".encode()
        queue = self._queues[zlib.crc32(key) % WORKERS]
        if sum(q.qsize() for q in self._queues) >= QUEUE_LIMIT:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("events are posted slower than they come: %d dropped so far", self.dropped)
            return
        queue.put_nowait(event_body(ref, type_, reason, message, datetime.now(UTC)))

    def info(self, body: Mapping[str, Any], reason: str, message: str) -> None:
        self.post(body, "Normal", reason, message)

    def warn(self, body: Mapping[str, Any], reason: str, message: str) -> None:
        self.post(body, "Warning", reason, message)

    async def _work(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            event = await queue.get()
            namespace = event["metadata"]["namespace"]
            try:
                path = f"/api/v1/namespaces/{namespace}/events"
                write = functools.partial(self._kube.write, "POST", path, event, counted="post/events")
                await asyncio.get_running_loop().run_in_executor(self._threads, write)
            except (KubeStatusError, BackendError) as e:
                ref = event["involvedObject"]
                log.warning(
                    "could not post the event %s about %s %s/%s: %s",
                    event["reason"],
                    ref.get("kind"),
                    namespace,
                    ref.get("name"),
                    e,
                )
