"""Bounded retries with exponential backoff and full jitter, for throttled vault calls.

Lives once here so every backend retries the same way: only :class:`Throttled` is
retried (the vault asked us to wait); every other error surfaces at once so callers
can decide. A ``retry_after`` hint from the vault is honoured, capped at ``max_delay``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from vaultsync.backends.errors import Throttled

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a throttled call."""

    attempts: int = 4
    """Total tries, the first one included."""
    base_delay: float = 0.2
    """Seconds before the first retry (before jitter); doubles each time."""
    max_delay: float = 5.0
    """Upper bound on one wait, also applied to the vault's ``retry_after``."""


def backoff_delay(policy: RetryPolicy, attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in ``[0, min(max_delay, base * 2**attempt)]``."""
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return float(ceiling * rng())


def call_with_retry(
    call: Callable[[], T],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``call``; on :class:`Throttled`, wait and try again up to ``policy.attempts`` times."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Throttled as throttled:
            if attempt + 1 >= policy.attempts:
                raise
            if throttled.retry_after is not None:
                delay = min(policy.max_delay, max(0.0, throttled.retry_after))
            else:
                delay = backoff_delay(policy, attempt, rng)
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
