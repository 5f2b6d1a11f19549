"""The work queue: one entry per key, one worker per key, no add lost, urgent adds first, timers."""

from __future__ import annotations

import asyncio
import random

from vaultsync.sync.queue import WorkQueue
from vaultsync.sync.ratelimit import ItemBackoff


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


def _queue(clock: FakeClock | None = None) -> WorkQueue[str]:
    return WorkQueue(clock or FakeClock(), ItemBackoff(1.0, 8.0, random.Random(7)))


def test_a_key_is_queued_once_and_in_order() -> None:
    queue = _queue()
    for key in ["a", "b", "a", "c", "b"]:
        queue.add(key)
    assert len(queue) == 3
    assert [queue.pop(), queue.pop(), queue.pop(), queue.pop()] == ["a", "b", "c", None]


def test_a_key_added_while_processing_runs_again_after_done_never_twice_at_once() -> None:
    queue = _queue()
    queue.add("a")
    assert queue.pop() == "a"
    queue.add("a")
    queue.add("a")
    assert queue.pop() is None, "a key being processed is not handed to a second worker"
    queue.done("a")
    assert queue.pop() == "a", "the add made while processing is not lost"
    queue.done("a")
    assert queue.pop() is None, "two adds while processing make one more run"


def test_urgent_adds_jump_the_queue_also_for_a_key_already_queued() -> None:
    queue = _queue()
    for key in ["a", "b", "c"]:
        queue.add(key)
    queue.add("c", urgent=True)
    queue.add("d", urgent=True)
    assert [queue.pop() for _ in range(5)] == ["c", "d", "a", "b", None]


def test_urgency_of_an_add_while_processing_is_kept() -> None:
    queue = _queue()
    queue.add("a")
    queue.add("b")
    assert queue.pop() == "a"
    queue.add("a", urgent=True)
    queue.done("a")
    assert queue.pop() == "a"


def test_add_after_waits_for_the_clock_and_keeps_the_earlier_deadline() -> None:
    clock = FakeClock()
    queue = _queue(clock)
    queue.add_after("a", 10)
    queue.add_after("a", 20)
    queue.add_after("b", 5)
    assert queue.pump() == clock.t + 5
    assert queue.pop() is None
    clock.t += 5
    assert queue.pump() == clock.t + 5
    assert queue.pop() == "b"
    clock.t += 5
    assert queue.pump() is None
    assert queue.pop() == "a"


def test_add_after_with_replace_moves_the_deadline_later() -> None:
    clock = FakeClock()
    queue = _queue(clock)
    queue.add_after("a", 1)
    queue.add_after("a", 30, replace=True)
    clock.t += 10
    queue.pump()
    assert queue.pop() is None
    clock.t += 20
    queue.pump()
    assert queue.pop() == "a"


def test_backoff_grows_per_key_and_forget_resets_it() -> None:
    queue = _queue()
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0]
    for ceiling in ceilings:
        assert queue.add_rate_limited("a") <= ceiling
    assert queue.backoff.failures("a") == len(ceilings)
    assert queue.backoff.failures("b") == 0
    queue.forget("a")
    assert queue.backoff.failures("a") == 0


def test_discard_drops_pending_adds_and_timers() -> None:
    clock = FakeClock()
    queue = _queue(clock)
    queue.add("a")
    queue.add_after("b", 1)
    queue.discard("a")
    queue.discard("b")
    clock.t += 2
    queue.pump()
    assert queue.pop() is None
    assert len(queue) == 0


def test_oldest_wait_is_the_longest_queued_key() -> None:
    clock = FakeClock()
    queue = _queue(clock)
    queue.add("a")
    clock.t += 3
    queue.add("b")
    clock.t += 1
    assert queue.oldest_wait() == 4
    assert queue.pop() == "a"
    assert queue.oldest_wait() == 1


async def test_workers_wait_for_keys_and_stop_at_shutdown() -> None:
    queue = _queue()
    seen: list[str] = []

    async def worker() -> None:
        while (key := await queue.get()) is not None:
            seen.append(key)
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    await asyncio.sleep(0)
    for key in ["a", "b", "c", "a"]:
        queue.add(key)
    while len(queue) or queue.processing:
        await asyncio.sleep(0)
    queue.shut_down()
    await asyncio.wait_for(asyncio.gather(*workers), 5)
    assert sorted(seen) == ["a", "b", "c"]
