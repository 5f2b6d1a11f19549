"""One timer heap for every key: refresh, retry, rotation and expiry are all "enqueue key at T".

Each key has at most one deadline. Superseded entries stay in the heap and are skipped when
they surface (lazy deletion), so rescheduling is O(log n) and needs no search.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class TimerHeap(Generic[K]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._deadlines: dict[K, tuple[float, int]] = {}
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._deadlines)

    def __contains__(self, key: object) -> bool:
        return key in self._deadlines

    def schedule(self, key: K, when: float, *, keep_earlier: bool = False) -> None:
        """Sets ``key``'s deadline to ``when`` (``keep_earlier``: unless one sooner is already set)."""
        current = self._deadlines.get(key)
        if current is not None and keep_earlier and current[0] <= when:
            return
        entry = (when, next(self._sequence))
        self._deadlines[key] = entry
        heapq.heappush(self._heap, (entry[0], entry[1], key))
        if len(self._heap) > 2 * len(self._deadlines) + 64:
            self._compact()

    def cancel(self, key: K) -> None:
        self._deadlines.pop(key, None)

    def deadline(self, key: K) -> float | None:
        entry = self._deadlines.get(key)
        return entry[0] if entry else None

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[K]:
        """Removes and returns the keys whose deadline is ``now`` or earlier, earliest first."""
        due: list[K] = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, _, key = heapq.heappop(self._heap)
            del self._deadlines[key]
            due.append(key)

    def _drop_stale(self) -> None:
        while self._heap:
            when, sequence, key = self._heap[0]
            if self._deadlines.get(key) == (when, sequence):
                return
            heapq.heappop(self._heap)

    def _compact(self) -> None:
        self._heap = [(when, seq, key) for key, (when, seq) in self._deadlines.items()]
        heapq.heapify(self._heap)
