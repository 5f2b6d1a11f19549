"""The operator's shared state for one process: settings, API access, profiles, the engine, the scheduler.

Built once at kopf startup (``handlers.startup``) and reached by every handler.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from vaultsync.reconcile.targets import ProfileKey
from vaultsync.sync.event_poster import EventPoster
from vaultsync.sync.finalizing import Finalizers
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.object_feed import ObjectFeed
from vaultsync.sync.profiles import ProfileResolver, ResolvedProfile
from vaultsync.sync.scheduler import SyncScheduler, run_in
from vaultsync.sync.secret_watch import SecretWatch
from vaultsync.sync.settings import OperatorSettings

if TYPE_CHECKING:  # types only: the engine and leadership import this module's helpers
    from vaultsync.handlers.leadership import Leadership
    from vaultsync.sync.engine import SyncEngine

T = TypeVar("T")


@dataclass
class Runtime:
    settings: OperatorSettings
    kube: KubeApi
    profiles: ProfileResolver
    engine: SyncEngine
    executor: concurrent.futures.ThreadPoolExecutor
    scheduler: SyncScheduler
    leadership: Leadership
    events: EventPoster
    finalizers: Finalizers
    secret_watch: SecretWatch | None = None
    managed_secrets: ObjectFeed | None = None
    """The watch of ManagedSecrets (``handlers.managedsecret.observed`` takes its events)."""

    kubernetes_sources: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(namespace, name) of a Secret that is a source -> the ManagedSecrets reading it."""
    sources_read_by: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """The other way round: a sync costs what its owner reads, not a scan of every source."""
    profile_users: dict[ProfileKey, set[str]] = field(default_factory=dict)
    """VaultProfile -> ManagedSecrets that use it (source or sync target)."""
    profile_wakeups: dict[ProfileKey, asyncio.Event] = field(default_factory=dict)
    profile_checks_forced: set[ProfileKey] = field(default_factory=set)

    def track_usage(self, owner: str, watched: Mapping[str, tuple[ResolvedProfile | None, str]]) -> None:
        """Remembers which profiles and Kubernetes source Secrets ``owner`` uses (empty: none)."""
        for source in self.sources_read_by.pop(owner, set()):
            readers = self.kubernetes_sources.get(source)
            if readers is not None:
                readers.discard(owner)
                if not readers:
                    del self.kubernetes_sources[source]
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
                self.sources_read_by.setdefault(owner, set()).add((namespace, path))
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

    def is_source(self, namespace: str, name: str) -> bool:
        """Whether some ManagedSecret reads this Secret (safe from any thread)."""
        return bool(self.kubernetes_sources.get((namespace, name)))

    def sources_of(self, namespace: str, name: str) -> set[str]:
        return set(self.kubernetes_sources.get((namespace, name), set()))

    @property
    def leading(self) -> bool:
        """True when this replica may write (it holds the Lease, or runs without HA)."""
        return self.leadership.leading

    def force_sync(self, owner: str, unless: Callable[[], bool] | None = None) -> None:
        self.scheduler.force(owner, unless)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_in(self.executor, fn, *args)


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
