"""Leader election on a ``coordination.k8s.io`` Lease, the way client-go's leaderelection does it.

- A candidate takes the Lease when it has no holder, or when its record has not changed for
  ``lease_duration`` by the candidate's own clock (no trust in other machines' clocks).
- The leader renews every ``retry_period``; when no renewal succeeded for ``renew_deadline``
  it stops leading (``renew_deadline < lease_duration``: it stops before anyone may take over).
- On a clean stop the leader releases the Lease, so a rolling update fails over at once.

The Lease is read and written through a ``LeaseStore`` passed in; every error of it is a
failed attempt, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from vaultsync.sync.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)


class LeaseConflict(Exception):
    """The Lease changed (or was created) since it was read."""


@dataclass(frozen=True)
class LeaseRecord:
    holder: str | None
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int
    resource_version: str | None = None


class LeaseStore(Protocol):
    """Blocking access to one Lease object."""

    def get(self) -> LeaseRecord | None: ...

    def create(self, record: LeaseRecord) -> LeaseRecord: ...

    def update(self, record: LeaseRecord) -> LeaseRecord:
        """Writes ``record`` if the Lease is still at ``record.resource_version``; else LeaseConflict."""
        ...


@dataclass(frozen=True)
class ElectionSettings:
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("leader election needs retry_period < renew_deadline < lease_duration")


class LeaderElector:
    def __init__(
        self,
        store: LeaseStore,
        settings: ElectionSettings,
        run_blocking: Callable[..., Awaitable[Any]],
        now: Callable[[], datetime],
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._run = run_blocking
        self._now = now
        self._clock = clock or MonotonicClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        self.holder: str | None = None
        """The identity that holds the Lease, as last seen."""

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this candidate holds the Lease afterwards."""
        me = self.settings.identity
        now = self._now()
        try:
            current = await self._run(self.store.get)
            if current is None:
                fresh = LeaseRecord(me, round(self.settings.lease_duration), now, now, 0)
                return self._took(await self._run(self.store.create, fresh))
            if current != self._observed:
                self._observed, self._observed_at = current, self._clock.now()
            self.holder = current.holder
            held_by_other = current.holder not in (None, "", me)
            if held_by_other and self._observed_at + current.lease_duration_seconds > self._clock.now():
                return False
            renewal = replace(
                current,
                holder=me,
                lease_duration_seconds=round(self.settings.lease_duration),
                renew_time=now,
                acquire_time=current.acquire_time if current.holder == me else now,
                transitions=current.transitions + (0 if current.holder == me else 1),
            )
            written = await self._run(self.store.update, renewal)
            return self._took(written)
        except Exception as e:  # any failure of the apiserver is a failed attempt
            log.debug("lease attempt failed: %s", e)
            return False

    def _took(self, record: LeaseRecord) -> bool:
        self._observed, self._observed_at = record, self._clock.now()
        self._renewed_at = self._clock.now()
        self.holder = record.holder
        return True

    async def run(self) -> None:
        """Campaigns until leading, then renews until the lease is lost (then campaigns again)."""
        while True:
            while not await self.try_acquire_or_renew():
                await asyncio.sleep(self.settings.retry_period * (1 + 0.2 * self._rng.random()))
            log.info("%s leads", self.settings.identity)
            self.lost.clear()
            self.leading.set()
            while self._clock.now() - self._renewed_at < self.settings.renew_deadline:
                await asyncio.sleep(self.settings.retry_period)
                await self.try_acquire_or_renew()
            log.warning(
                "%s lost the lease: no renewal for %.0fs",
                self.settings.identity,
                self.settings.renew_deadline,
            )
            self.leading.clear()
            self.lost.set()

    async def release(self) -> None:
        """Gives the Lease up (a clean stop): the next candidate need not wait for it to expire."""
        if not self.leading.is_set() or self._observed is None:
            return
        self.leading.clear()
        released = replace(self._observed, holder="", lease_duration_seconds=1, renew_time=self._now())
        with contextlib.suppress(Exception):
            await self._run(self.store.update, released)
