"""A sync and the deletion of one ManagedSecret's copies never overlap, and no sync follows the deletion.

A sync runs in a worker thread. When the resource is deleted, kopf cancels its daemon, but
cancelling the awaiting coroutine does not stop the thread: a sync already past its reads
would write a copy back right after the deletion handler removed it. Both run through
:func:`serialized_per_resource`, keyed by the resource's uid: the deletion waits for the
sync in flight, then retires the uid, and any later sync of that uid does nothing. The locks
live in the engine's :class:`ResourceGuard`, not in this module.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast, overload

Params = ParamSpec("Params")
Result = TypeVar("Result")

RETIRED_REMEMBERED = 10_000
"""How many deleted uids are remembered; far more than deletions in flight at once."""


class ResourceGuard:
    """Per-uid locks, and the uids whose copies were deleted."""

    def __init__(self, remembered: int = RETIRED_REMEMBERED) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._retired: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    @contextmanager
    def hold(self, uid: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(uid, (threading.Lock(), 0))
            self._locks[uid] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[uid]
                if users == 1:
                    del self._locks[uid]
                else:
                    self._locks[uid] = (lock, users - 1)

    def retire(self, uid: str) -> None:
        with self._guard:
            self._retired[uid] = None
            self._retired.move_to_end(uid)
            while len(self._retired) > self._remembered:
                self._retired.popitem(last=False)

    def retired(self, uid: str) -> bool:
        with self._guard:
            return uid in self._retired


class Guarded(Protocol):
    """An object whose methods are serialized per resource: it holds the guard they share."""

    guard: ResourceGuard


def _uid(body: Mapping[str, Any]) -> str:
    meta = body["metadata"]
    return str(meta.get("uid") or f"{meta['namespace']}/{meta['name']}")


@overload
def serialized_per_resource(
    *, body_at: int, retire: Literal[True]
) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]: ...


@overload
def serialized_per_resource(
    *, body_at: int, when_retired: Callable[[Mapping[str, Any]], Result]
) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]: ...


def serialized_per_resource(
    *,
    body_at: int,
    retire: bool = False,
    when_retired: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]:
    """Runs the method under the lock of the resource whose body is positional argument ``body_at``
    (``self``, the first, is a :class:`Guarded` whose guard every such method of it shares).

    ``retire``: the function deletes the copies; later calls of functions that give
    ``when_retired`` return ``when_retired(body)`` instead of running.
    """

    def decorate(function: Callable[Params, Result]) -> Callable[Params, Result]:
        @functools.wraps(function)
        def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            guard = cast(Guarded, args[0]).guard
            body: Mapping[str, Any] = args[body_at]  # type: ignore[assignment]
            uid = _uid(body)
            with guard.hold(uid):
                if retire:
                    guard.retire(uid)
                elif when_retired is not None and guard.retired(uid):
                    skipped: Result = when_retired(body)
                    return skipped
                return function(*args, **kwargs)

        return guarded

    return decorate
