"""Token buckets and the one timer heap, under a clock the test sets."""

from __future__ import annotations

import pytest

from vaultsync.sync.ratelimit import TokenBucket
from vaultsync.sync.timers import TimerHeap


def test_a_bucket_allows_its_burst_then_spaces_calls_at_qps() -> None:
    bucket = TokenBucket(qps=10, burst=3, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.1)
    assert bucket.reserve(0.0) == pytest.approx(0.2), "waiters queue up behind each other"
    assert bucket.reserve(1.0) == 0.0, "tokens refill with time"


def test_a_bucket_saves_at_most_its_burst() -> None:
    bucket = TokenBucket(qps=1, burst=2, now=0.0)
    assert [bucket.reserve(100.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_a_bucket_refuses_a_nonsense_limit() -> None:
    with pytest.raises(ValueError, match="qps"):
        TokenBucket(qps=0, burst=1, now=0.0)


def test_timers_pop_in_deadline_order_and_skip_superseded_entries() -> None:
    timers: TimerHeap[str] = TimerHeap()
    timers.schedule("a", 5)
    timers.schedule("b", 3)
    timers.schedule("a", 1)
    timers.schedule("c", 4, keep_earlier=True)
    timers.schedule("c", 9, keep_earlier=True)
    timers.cancel("b")
    assert timers.next_deadline() == 1
    assert timers.pop_due(4) == ["a", "c"]
    assert timers.pop_due(100) == []
    assert len(timers) == 0


def test_timers_stay_compact_under_many_reschedules() -> None:
    timers: TimerHeap[int] = TimerHeap()
    for round_ in range(200):
        for key in range(10):
            timers.schedule(key, float(round_))
    assert len(timers._heap) <= 2 * 10 + 64 + 1
    assert timers.pop_due(199) == list(range(10))
