"""The test stack's moto answers one request at a time: its store is not thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vaultsync_devstack.moto_server import Wsgi, one_at_a_time


def _most_at_once(wrap: Callable[[Wsgi], Wsgi]) -> int:
    """Four parallel requests; each waits inside the app for another to come in (0.3 s at most)."""
    inside = 0
    most = 0
    lock = threading.Lock()
    company = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
            if inside > 1:
                company.set()
        company.wait(0.3)
        with lock:
            inside -= 1
        yield b"answer"  # produced lazily: the lock must cover producing it, not only the call

    served = wrap(app)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: b"".join(served({}, lambda *a: None)), range(4)))
    assert answers == [b"answer"] * 4
    return most


def test_requests_never_overlap_inside_moto() -> None:
    assert _most_at_once(one_at_a_time) == 1


def test_the_check_sees_overlapping_requests() -> None:
    assert _most_at_once(lambda app: app) > 1
