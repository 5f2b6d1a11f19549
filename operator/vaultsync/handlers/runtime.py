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
from vaultsync.reconcile.targets import ProfileKey

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

    kubernetes_sources: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(namespace, name) of a Secret that is a source -> the ManagedSecrets reading it."""
    profile_users: dict[ProfileKey, set[str]] = field(default_factory=dict)
    """VaultProfile -> ManagedSecrets that use it (source or sync target)."""
    profile_wakeups: dict[ProfileKey, asyncio.Event] = field(default_factory=dict)
    profile_checks_forced: set[ProfileKey] = field(default_factory=set)

    def track_usage(self, owner: str, watched: Mapping[str, tuple[ResolvedProfile | None, str]]) -> None:
        """Remembers which profiles and Kubernetes source Secrets ``owner`` uses (empty: none)."""
        for users in self.kubernetes_sources.values():
            users.discard(owner)
        used = set()
        for key, (profile, path) in watched.items():
            if profile is None:
                continue
            used.add(profile.key)
            if key == "source" and profile.provider_key == "kubernetes":
                namespace = str(
                    (profile.body.get("spec", {}).get("provider", {}).get("kubernetes") or {}).get(
                        "namespace"
                    )
                    or profile.key.namespace
                )
                self.kubernetes_sources.setdefault((namespace, path), set()).add(owner)
        for profile_key, users in self.profile_users.items():
            if owner in users and profile_key not in used:
                users.discard(owner)
                self._wake_profile(profile_key)
        for profile_key in used:
            users = self.profile_users.setdefault(profile_key, set())
            if owner not in users:
                users.add(owner)
                self._wake_profile(profile_key)

    def force_profile_check(self, key: ProfileKey) -> None:
        """The profile's daemon re-verifies connectivity and permissions at once."""
        self.profile_checks_forced.add(key)
        self._wake_profile(key)

    def _wake_profile(self, key: ProfileKey) -> None:
        event = self.profile_wakeups.get(key)
        if event is not None:
            event.set()

    def is_watched_source(self, body: Mapping[str, Any]) -> bool:
        meta = body.get("metadata") or {}
        return bool(self.kubernetes_sources.get((str(meta.get("namespace")), str(meta.get("name")))))

    def sources_of(self, namespace: str, name: str) -> set[str]:
        return set(self.kubernetes_sources.get((namespace, name), set()))

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
            if not self.profiles.is_current(profile):
                return False  # the profile changed or its credentials rotated: resolve it again
            try:
                tokens = await self.tokens_of(profile, max_age)
            except BackendError:
                return False
            if token is None or tokens.get(path) != token:
                return False
        return True

    async def tokens_of(self, profile: ResolvedProfile, max_age: float) -> Mapping[str, str]:
        return await self.tracker.tokens(profile, max_age, self.run)


async def sleep_until(wakeup: asyncio.Event, stopped: Any, timeout: float) -> None:
    """Sleeps until ``wakeup`` is set, the daemon is ``stopped``, or ``timeout`` passes."""
    waiters = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


RUNTIME: Runtime | None = None


def runtime() -> Runtime:
    if RUNTIME is None:
        raise RuntimeError("the operator runtime is not started")
    return RUNTIME
