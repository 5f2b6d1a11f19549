"""When to look again: refresh intervals with jitter and retry backoff with full jitter.

Jitter spreads 10,000 secrets with the same interval over time instead of one thundering
herd against each vault.
"""

from __future__ import annotations

import random

DEFAULT_REFRESH_SECONDS = 3600.0
MIN_REFRESH_SECONDS = 1.0


def jittered(interval: float, rng: random.Random | None = None, fraction: float = 0.1) -> float:
    """``interval`` moved by up to ±``fraction`` of itself, never below one second."""
    rng = rng or random.Random()  # noqa: S311 - scheduling, not cryptography
    return max(MIN_REFRESH_SECONDS, interval * (1 + rng.uniform(-fraction, fraction)))


def backoff(attempt: int, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff for retry number ``attempt`` (1-based)."""
    rng = rng or random.Random()  # noqa: S311 - scheduling, not cryptography
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(0.5, rng.uniform(0, ceiling))
