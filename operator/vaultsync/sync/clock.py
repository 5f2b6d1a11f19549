"""Time as the scheduler sees it: monotonic seconds, and a way to wait for a moment.

A protocol so that the queue, timers and rate limits run under a fake clock in unit tests.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()
