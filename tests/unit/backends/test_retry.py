"""The retry helper: bounded attempts, full jitter, the vault's retry_after honoured."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.backends.errors import Throttled, Unavailable
from vaultsync.backends.retry import RetryPolicy, backoff_delay, call_with_retry


class Flaky:
    """Raises the queued errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    ("errors", "attempts", "outcome", "calls", "waits"),
    [
        pytest.param([], 4, "ok", 1, 0, id="first-try"),
        pytest.param([Throttled("t")] * 3, 4, "ok", 4, 3, id="throttled-thrice-then-ok"),
        pytest.param([Throttled("t")] * 4, 4, Throttled, 4, 3, id="throttled-past-the-bound"),
        pytest.param([Unavailable("u")], 4, Unavailable, 1, 0, id="other-errors-are-not-retried"),
        pytest.param([Throttled("t")], 1, Throttled, 1, 0, id="single-attempt-policy"),
    ],
)
def test_attempts(errors: list[Exception], attempts: int, outcome: object, calls: int, waits: int) -> None:
    flaky = Flaky(*errors)
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=attempts)
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            call_with_retry(flaky, policy, sleep=sleeps.append)
    else:
        assert call_with_retry(flaky, policy, sleep=sleeps.append) == outcome
    assert flaky.calls == calls
    assert len(sleeps) == waits


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        pytest.param(1.5, 1.5, id="hint-used"),
        pytest.param(999.0, 5.0, id="hint-capped"),
        pytest.param(-3.0, 0.0, id="negative-hint-is-zero"),
    ],
)
def test_retry_after_is_honoured_and_capped(retry_after: float, expected: float) -> None:
    sleeps: list[float] = []
    call_with_retry(
        Flaky(Throttled("t", retry_after=retry_after)), RetryPolicy(max_delay=5.0), sleep=sleeps.append
    )
    assert sleeps == [expected]


@given(
    attempt=st.integers(min_value=0, max_value=30),
    base=st.floats(min_value=0.001, max_value=2),
    cap=st.floats(min_value=0.01, max_value=60),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_full_jitter_stays_within_the_exponential_ceiling(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap)
    delay = backoff_delay(policy, attempt, rng=lambda: draw)
    assert 0 <= delay <= min(cap, base * 2**attempt)
