"""How hard the operator may press each vault: calls in flight per VaultProfile
(``backend_concurrency``), and calls per second per VaultProfile (``spec.rateLimit``) and for
the whole operator.

One token is taken per call the scheduler starts: a sync of a ManagedSecret takes one of every
profile it used last time, a change listing one of its profile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable, Iterable
from dataclasses import dataclass

from vaultsync.sync.clock import Clock
from vaultsync.sync.ratelimit import TokenBucket


@dataclass(frozen=True)
class Limit:
    qps: float
    burst: int


class CallLimits:
    def __init__(self, clock: Clock, concurrency: int, operator: Limit | None) -> None:
        self._clock = clock
        self._concurrency = concurrency
        self._operator = TokenBucket(operator.qps, operator.burst, clock.now()) if operator else None
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._slots: dict[Hashable, asyncio.Semaphore] = {}

    def set_rate(self, profile: Hashable, limit: Limit | None) -> None:
        """Sets (None: removes) the rate limit of one profile, from its ``spec.rateLimit``."""
        current = self._buckets.get(profile)
        if limit is None:
            self._buckets.pop(profile, None)
        elif current is None or (current.qps, current.burst) != (limit.qps, limit.burst):
            self._buckets[profile] = TokenBucket(limit.qps, limit.burst, self._clock.now())

    def forget(self, profile: Hashable) -> None:
        self._buckets.pop(profile, None)
        self._slots.pop(profile, None)

    def rate(self, profile: Hashable) -> Limit | None:
        bucket = self._buckets.get(profile)
        return Limit(bucket.qps, bucket.burst) if bucket else None

    @contextlib.asynccontextmanager
    async def hold(self, profiles: Iterable[Hashable]) -> AsyncIterator[None]:
        """Waits for a call slot of every profile (in a fixed order: no deadlock), then their tokens."""
        ordered = sorted(set(profiles), key=repr)
        async with contextlib.AsyncExitStack() as stack:
            for profile in ordered:
                slot = self._slots.get(profile)
                if slot is None:
                    slot = self._slots[profile] = asyncio.Semaphore(self._concurrency)
                await stack.enter_async_context(slot)
            now = self._clock.now()
            waits = [b.reserve(now) for p in ordered if (b := self._buckets.get(p)) is not None]
            if self._operator is not None:
                waits.append(self._operator.reserve(now))
            wait = max(waits, default=0.0)
            if wait > 0:
                await asyncio.sleep(wait)
            yield
