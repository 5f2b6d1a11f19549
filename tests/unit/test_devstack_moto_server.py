"""The test stack's moto answers one request at a time: its store is not thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vaultsync_devstack.moto_server import one_at_a_time


def test_requests_never_overlap_inside_moto() -> None:
    inside = 0
    most = 0
    entered = threading.Semaphore(0)
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        entered.release()
        # Yielding the answer lazily: the lock must cover producing it, not only the call.
        yield b"a"
        for _ in range(2000):
            pass
        with lock:
            inside -= 1
        yield b"b"

    serialized = one_at_a_time(app)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: b"".join(serialized({}, lambda *a: None)), range(200)))
    assert answers == [b"ab"] * 200
    assert entered.acquire(blocking=False), "the app ran"
    assert most == 1
