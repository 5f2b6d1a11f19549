"""As many threads as the operator runs syncs can call one vault at once without a pool overflow.

A pool smaller than the thread count makes urllib3 discard connections ("Connection pool is
full"): a warning and a new handshake per call. Each backend's pool is sized to the workers.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract.conftest import Target
from vaultsync.backends.pools import DEFAULT_POOL_SIZE

pytestmark = pytest.mark.stack

OWNER = "team-a/pool"


def test_a_full_set_of_workers_never_overflows_the_pool(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    path = target.path_for("pool")
    target.backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    start = threading.Barrier(DEFAULT_POOL_SIZE)

    def reads(_: int) -> int:
        start.wait()
        for _ in range(5):
            target.backend.read(path)
        return 5

    with caplog.at_level(logging.WARNING, logger="urllib3"), ThreadPoolExecutor(DEFAULT_POOL_SIZE) as pool:
        done = sum(pool.map(reads, range(DEFAULT_POOL_SIZE)))
    assert done == 5 * DEFAULT_POOL_SIZE
    full = [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()]
    assert full == []
