"""Rate limits: a token bucket (per VaultProfile ``spec.rateLimit``, and one per operator), and
per-key exponential backoff that ``forget`` resets (client-go's ItemExponentialFailureRateLimiter).

Pure: the caller passes the time and waits the returned delay itself.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved. A reservation may drive the balance below
    zero: the caller then waits until its token exists, so waiters are served in order."""

    def __init__(self, qps: float, burst: int, now: float) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"a rate limit needs qps > 0 and burst >= 1 (got {qps}, {burst})")
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def reserve(self, now: float, count: int = 1) -> float:
        """Takes ``count`` tokens; returns the seconds to wait before using them (0: at once)."""
        self._refill(now)
        self._tokens -= count
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
            self._at = now


class ItemBackoff(Generic[K]):
    """Per-key failure counts: ``when`` gives the next delay (full jitter, doubling to ``cap``)."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()  # noqa: S311 - scheduling, not cryptography
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        ceiling = min(self.cap, self.base * (2.0**failures))
        return max(min(0.5, ceiling), self._rng.uniform(0, ceiling))

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)
