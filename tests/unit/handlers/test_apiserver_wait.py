"""kopf's retries of Kubernetes API errors outlast an apiserver outage: a watch that gives up
stops the whole operator (``bench.recovery`` saw it after a 60 s apiserver outage)."""

from __future__ import annotations

import collections.abc
import itertools

from vaultsync.handlers.startup import ApiServerWait


def test_retries_never_run_out_and_wait_at_most_ten_seconds() -> None:
    wait = ApiServerWait()
    assert not isinstance(wait, collections.abc.Sized), "kopf counts a sized sequence and then escalates"
    delays = list(itertools.islice(wait, 100))
    assert len(delays) == 100
    assert max(delays) == 10.0
    assert sum(delays) > 15 * 60, "a quarter-hour outage is waited out"


def test_each_request_starts_its_own_delays() -> None:
    wait = ApiServerWait()
    first = list(itertools.islice(iter(wait), 8))
    assert list(itertools.islice(iter(wait), 8)) == first == [1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 10.0]
