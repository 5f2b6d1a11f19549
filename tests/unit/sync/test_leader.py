"""Leader election against an in-memory Lease with optimistic concurrency, under a fake clock."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from vaultsync.sync.leader import ElectionSettings, LeaderElector, LeaseConflict, LeaseRecord


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


class MemoryLease:
    """One Lease: create fails if it exists, update fails unless the resourceVersion matches."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self._versions = itertools.count(1)
        self.down = False

    def get(self) -> LeaseRecord | None:
        if self.down:
            raise ConnectionError("apiserver unreachable")
        return self.record

    def create(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is not None:
            raise LeaseConflict("exists")
        self.record = dataclasses.replace(record, resource_version=str(next(self._versions)))
        return self.record

    def update(self, record: LeaseRecord) -> LeaseRecord:
        if self.down:
            raise ConnectionError("apiserver unreachable")
        if self.record is None or record.resource_version != self.record.resource_version:
            raise LeaseConflict("changed")
        self.record = dataclasses.replace(record, resource_version=str(next(self._versions)))
        return self.record


async def _run(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _elector(name: str, lease: MemoryLease, clock: FakeClock) -> LeaderElector:
    return LeaderElector(lease, ElectionSettings(name), _run, lambda: datetime.now(UTC), clock=clock)


async def test_one_leader_and_a_standby_takes_over_only_after_the_lease_duration() -> None:
    lease, clock_a, clock_b = MemoryLease(), FakeClock(), FakeClock()
    a, b = _elector("a", lease, clock_a), _elector("b", lease, clock_b)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    for _ in range(10):  # a renews every 2 s: b never gets it
        clock_a.t += 2
        clock_b.t += 2
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
    clock_b.t += 14  # a died: its record stays as it was
    assert not await b.try_acquire_or_renew(), "not before the lease duration has passed"
    clock_b.t += 2
    assert await b.try_acquire_or_renew()
    assert lease.record is not None
    assert (lease.record.holder, lease.record.transitions) == ("b", 1)
    clock_a.t += 100
    assert not await a.try_acquire_or_renew() or lease.record.holder == "a"


async def test_a_released_lease_is_taken_at_once() -> None:
    lease, clock = MemoryLease(), FakeClock()
    a, b = _elector("a", lease, clock), _elector("b", lease, clock)
    assert await a.try_acquire_or_renew()
    a.leading.set()
    assert not await b.try_acquire_or_renew()
    await a.release()
    clock.t += 1.5
    assert await b.try_acquire_or_renew(), "a released lease lasts one second"


async def test_an_unreachable_apiserver_is_a_failed_attempt_not_a_crash() -> None:
    lease, clock = MemoryLease(), FakeClock()
    a = _elector("a", lease, clock)
    assert await a.try_acquire_or_renew()
    lease.down = True
    assert not await a.try_acquire_or_renew()


def test_the_timings_must_nest() -> None:
    with pytest.raises(ValueError, match="renew_deadline"):
        ElectionSettings("a", lease_duration=10, renew_deadline=10, retry_period=2)
