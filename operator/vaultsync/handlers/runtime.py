"""The operator's shared state for one process: settings, API access, profiles, the engine.

Built once at kopf startup (``handlers.startup``) and reached by every handler.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vaultsync.backends.errors import BackendError
from vaultsync.handlers.engine import SyncEngine
from vaultsync.handlers.kubeapi import KubeApi
from vaultsync.handlers.profiles import ProfileResolver, ResolvedProfile
from vaultsync.handlers.settings import OperatorSettings

T = TypeVar("T")


class ChangeTracker:
    """One change listing per vault per interval, shared by every secret stored in it.

    A ManagedSecret remembers the version tokens of its source and targets at its last sync;
    while the listing shows the same tokens, a refresh costs no content read at all.
    """

    def __init__(self) -> None:
        self._listings: dict[int, tuple[float, dict[str, str]]] = {}
        self._paths: dict[int, set[str]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def watch(self, profile: ResolvedProfile, path: str) -> None:
        self._paths.setdefault(id(profile.backend), set()).add(path)

    async def tokens(
        self, profile: ResolvedProfile, max_age: float, run: Callable[..., Any]
    ) -> Mapping[str, str]:
        key = id(profile.backend)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._listings.get(key)
            if cached and time.monotonic() - cached[0] < max_age:
                return cached[1]
            paths = sorted(self._paths.get(key, set()))
            change_set = await run(profile.backend.list_changes, None, paths)
            tokens = dict(change_set.marker.tokens)
            self._listings[key] = (time.monotonic(), tokens)
            return tokens


@dataclass
class Runtime:
    settings: OperatorSettings
    kube: KubeApi
    profiles: ProfileResolver
    engine: SyncEngine
    executor: concurrent.futures.ThreadPoolExecutor
    tracker: ChangeTracker = field(default_factory=ChangeTracker)
    wakeups: dict[str, asyncio.Event] = field(default_factory=dict)
    """ManagedSecret ``namespace/name`` -> the event that wakes its daemon."""
    forced: set[str] = field(default_factory=set)
    """ManagedSecrets whose next wake-up must read everything (a target changed out of band)."""

    def force_sync(self, owner: str) -> None:
        event = self.wakeups.get(owner)
        if event is not None:
            self.forced.add(owner)
            event.set()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: fn(*args))

    async def unchanged_since(
        self, remembered: Mapping[str, tuple[ResolvedProfile, str, str | None]], max_age: float
    ) -> bool:
        """True when every watched path still shows the token remembered at the last sync."""
        if not remembered:
            return False
        for profile, path, token in remembered.values():
            try:
                tokens = await self.tokens_of(profile, max_age)
            except BackendError:
                return False
            if token is None or tokens.get(path) != token:
                return False
        return True

    async def tokens_of(self, profile: ResolvedProfile, max_age: float) -> Mapping[str, str]:
        return await self.tracker.tokens(profile, max_age, self.run)


RUNTIME: Runtime | None = None


def runtime() -> Runtime:
    if RUNTIME is None:
        raise RuntimeError("the operator runtime is not started")
    return RUNTIME
