"""A keyed, de-duplicating work queue with per-key serialization (client-go workqueue semantics).

- A key is queued at most once: adding a queued key again does nothing (except jump the queue
  when the new add is urgent: spec changes and refresh requests).
- A key handed to a worker is *processing* until ``done``: adding it meanwhile marks it dirty,
  and ``done`` queues it again, so one key never runs on two workers at once and no add is lost.
- ``add_after`` puts the key on the one timer heap; ``pump`` moves due keys into the queue.
- ``add_rate_limited`` waits the key's exponential backoff; ``forget`` resets it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from vaultsync.sync.clock import Clock
from vaultsync.sync.ratelimit import ItemBackoff
from vaultsync.sync.timers import TimerHeap

K = TypeVar("K", bound=Hashable)

URGENT, NORMAL = "urgent", "normal"


class WorkQueue(Generic[K]):
    def __init__(self, clock: Clock, backoff: ItemBackoff[K]) -> None:
        self.clock = clock
        self.backoff = backoff
        self.timers: TimerHeap[K] = TimerHeap()
        self._lanes: dict[str, deque[K]] = {URGENT: deque(), NORMAL: deque()}
        self._queued: dict[K, tuple[str, float]] = {}
        """Key -> (lane, when it was queued). Lane entries of keys not here, or here in the
        other lane, are stale and skipped."""
        self._processing: set[K] = set()
        self._dirty: dict[K, bool] = {}
        """Keys added while processing -> whether any of those adds was urgent."""
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._queued)

    @property
    def processing(self) -> int:
        return len(self._processing)

    def is_processing(self, key: K) -> bool:
        return key in self._processing

    def add(self, key: K, *, urgent: bool = False) -> None:
        if self._closed:
            return
        if key in self._processing:
            self._dirty[key] = self._dirty.get(key, False) or urgent
            return
        queued = self._queued.get(key)
        if queued is not None:
            if urgent and queued[0] == NORMAL:
                self._queued[key] = (URGENT, queued[1])
                self._lanes[URGENT].append(key)
            return
        self._queued[key] = (URGENT if urgent else NORMAL, self.clock.now())
        self._lanes[URGENT if urgent else NORMAL].append(key)
        self._ready.set()

    def add_after(self, key: K, delay: float, *, replace: bool = False) -> None:
        """Queues ``key`` after ``delay`` seconds; unless ``replace``, an earlier deadline stands."""
        if delay <= 0:
            self.timers.cancel(key)
            self.add(key)
            return
        self.timers.schedule(key, self.clock.now() + delay, keep_earlier=not replace)

    def add_rate_limited(self, key: K) -> float:
        """Queues ``key`` after its next backoff delay, which it returns."""
        delay = self.backoff.when(key)
        self.add_after(key, delay, replace=True)
        return delay

    def forget(self, key: K) -> None:
        self.backoff.forget(key)

    def discard(self, key: K) -> None:
        """Drops every pending add and timer of ``key`` (the object is gone)."""
        self._queued.pop(key, None)
        self._dirty.pop(key, None)
        self.timers.cancel(key)
        self.backoff.forget(key)

    def pump(self) -> float | None:
        """Queues every key whose timer is due; returns the next deadline (None: no timer)."""
        for key in self.timers.pop_due(self.clock.now()):
            self.add(key)
        return self.timers.next_deadline()

    def pop(self) -> K | None:
        """The next key to process (urgent lane first), now processing; None when empty."""
        for lane in (URGENT, NORMAL):
            entries = self._lanes[lane]
            while entries:
                key = entries.popleft()
                queued = self._queued.get(key)
                if queued is None or queued[0] != lane:
                    continue
                del self._queued[key]
                self._processing.add(key)
                return key
        return None

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self.add(key, urgent=self._dirty.pop(key))

    def oldest_wait(self) -> float:
        """Seconds the longest-waiting queued key has waited (0 when none)."""
        if not self._queued:
            return 0.0
        return max(0.0, self.clock.now() - min(since for _, since in self._queued.values()))

    async def get(self) -> K | None:
        """Waits for a key; None once the queue is shut down."""
        while not self._closed:
            key = self.pop()
            if key is not None:
                return key
            self._ready.clear()
            await self._ready.wait()
        return None

    def shut_down(self) -> None:
        self._closed = True
        self._ready.set()
