"""ManagedSecrets being deleted: the operator's finalizer holds each until its copies are dealt with.

The admission webhook adds the finalizer when a ManagedSecret is created; :meth:`ensure` adds
it to one created without the webhook. When a ManagedSecret carries a deletionTimestamp and the
finalizer, ``finalize`` runs (only on the replica that leads) until it returns; then the
finalizer is removed and the API server deletes the object. ``finalize`` raises
:class:`RetryLater` to be run again after a delay (deletion waits for approval, a vault is
down); any other error is logged and retried after ``ERROR_RETRY_SECONDS``. One run at a time
per object, with its newest body.

Every finalizer write names the resourceVersion it was computed from: a replica (or a user) that
changed the list in between gets its change kept, and this side tries again with the new body.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from vaultsync.api.names import GROUP, VERSION
from vaultsync.backends.kube_http import MERGE_PATCH, KubeStatusError, resource_path
from vaultsync.sync.kubeapi import KUBE_ERRORS, KubeApi
from vaultsync.sync.list_watch import owner_of

log = logging.getLogger(__name__)

NOT_LEADING_RETRY_SECONDS = 2.0
ERROR_RETRY_SECONDS = 10.0
CONFLICT_RETRY_SECONDS = 1.0

Run = Callable[..., Awaitable[Any]]


class RetryLater(Exception):
    """The deletion cannot finish yet; the message says why (never a secret value)."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


def finalizers_of(body: Mapping[str, Any]) -> list[str]:
    return list((body.get("metadata") or {}).get("finalizers") or [])


class Finalizers:
    def __init__(
        self,
        kube: KubeApi,
        *,
        plural: str,
        finalizer: str,
        finalize: Callable[[dict[str, Any]], Awaitable[None]],
        leading: Callable[[], bool],
        run: Run,
        on_retry: Callable[[dict[str, Any], str], None],
    ) -> None:
        self._kube = kube
        self._plural = plural
        self.finalizer = finalizer
        self._finalize = finalize
        self._leading = leading
        self._run = run
        self._on_retry = on_retry
        self._bodies: dict[str, dict[str, Any]] = {}
        self._finished: set[str] = set()
        """Finalized; only the finalizer's removal is left."""
        self._running: set[str] = set()
        self._said: dict[str, str] = {}
        """The last reason to wait reported per object (each is reported once)."""
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def holds(self, body: Mapping[str, Any]) -> bool:
        return self.finalizer in finalizers_of(body)

    def deleting(self, body: Mapping[str, Any]) -> bool:
        """Whether ``body`` is being deleted and waits for this finalizer."""
        return bool((body.get("metadata") or {}).get("deletionTimestamp")) and self.holds(body)

    def pending(self) -> list[str]:
        return sorted(self._bodies)

    # -- what the watch glue calls, on the event loop --------------------------------------------

    def observe(self, body: dict[str, Any]) -> None:
        """A watch event of an object that is being deleted and holds the finalizer."""
        owner = owner_of(body)
        self._bodies[owner] = body
        if owner not in self._running and owner not in self._timers:
            self._start(owner)

    def forget(self, owner: str) -> None:
        """The object is gone (or no longer holds the finalizer)."""
        self._bodies.pop(owner, None)
        self._finished.discard(owner)
        self._said.pop(owner, None)
        timer = self._timers.pop(owner, None)
        if timer is not None:
            timer.cancel()

    def ensure(self, body: Mapping[str, Any]) -> None:
        """Adds the finalizer to an object created without the admission webhook."""
        if self.holds(body) or (body.get("metadata") or {}).get("deletionTimestamp"):
            return
        self._spawn(self._write_finalizers(body, [*finalizers_of(body), self.finalizer]))

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the runs ------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start(self, owner: str) -> None:
        self._timers.pop(owner, None)
        if owner in self._bodies:
            self._running.add(owner)
            self._spawn(self._attempt(owner))

    def _later(self, owner: str, delay: float) -> None:
        if owner in self._bodies:
            self._timers[owner] = asyncio.get_running_loop().call_later(delay, self._start, owner)

    async def _attempt(self, owner: str) -> None:
        try:
            delay = await self._step(owner)
        finally:
            self._running.discard(owner)
        if delay is not None:
            self._later(owner, delay)

    async def _step(self, owner: str) -> float | None:
        """One run; the seconds until the next, or None when done."""
        if not self._leading():
            return NOT_LEADING_RETRY_SECONDS
        if owner not in self._finished:
            try:
                await self._finalize(self._bodies[owner])
            except RetryLater as e:
                body = self._bodies.get(owner)
                if body is not None and self._said.get(owner) != str(e):
                    self._said[owner] = str(e)
                    self._on_retry(body, str(e))
                return e.delay
            except Exception:
                log.exception("%s: deletion failed; trying again in %.0f s", owner, ERROR_RETRY_SECONDS)
                return ERROR_RETRY_SECONDS
            if owner not in self._bodies:
                return None  # gone while it ran
            self._finished.add(owner)
        body = self._bodies[owner]
        kept = [f for f in finalizers_of(body) if f != self.finalizer]
        try:
            await self._write_finalizers(body, kept, quiet=False)
        except KUBE_ERRORS as e:
            log.warning("%s: removing the finalizer: %s; trying again", owner, e)
            return CONFLICT_RETRY_SECONDS if _conflict(e) else ERROR_RETRY_SECONDS
        return None

    async def _write_finalizers(
        self, body: Mapping[str, Any], finalizers: list[str], quiet: bool = True
    ) -> None:
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        path = resource_path(GROUP, VERSION, self._plural, namespace, name)
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": metadata.get("resourceVersion")}}
        try:
            counted = f"patch-finalizers/{self._plural}"
            write = functools.partial(self._kube.write, counted=counted, content_type=MERGE_PATCH)
            await self._run(write, "PATCH", path, patch)
        except KubeStatusError as e:
            if e.status == 404:
                return  # gone already
            if not quiet:
                raise
            if not _conflict(e):  # a conflict: the newer body's event decides again
                log.warning("%s/%s: adding the finalizer: %s", namespace, name, e)
        except KUBE_ERRORS as e:
            if not quiet:
                raise
            log.warning("%s/%s: adding the finalizer: %s", namespace, name, e)


def _conflict(error: BaseException) -> bool:
    return isinstance(error, KubeStatusError) and error.status == 409
