"""The one scheduler of every ManagedSecret: watch events and timers put keys in one queue, a fixed
pool of async workers takes them, and each sync runs in one bounded thread pool.

Two kinds of key share the queue and the timer heap:
- ``namespace/name`` of a ManagedSecret: sync it (a spec change or refresh request jumps the
  queue; a failure waits its own backoff; rotation and expiry are timers);
- ``Poll(profile)``: list the changes of one VaultProfile's due paths, in parallel chunks
  within its limits, and queue the owners whose path moved.

While a profile's listing fails its owners are synced once (their status says why) and then
wait on the poll's own backoff instead of each retrying alone; the first listing that works
again queues every owner still failing. The API server is handled the same way: a sync whose
status could not be written because it is unreachable waits on ``ApiServerProbe`` (a readiness
check every ``apiserver_probe_cap_seconds`` at most), and the first probe that succeeds queues
every secret that waited.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

from vaultsync.sync.changes import ChangeTracker, Watchable
from vaultsync.sync.clock import Clock, MonotonicClock
from vaultsync.sync.limits import CallLimits, Limit
from vaultsync.sync.queue import WorkQueue
from vaultsync.sync.ratelimit import ItemBackoff

log = logging.getLogger(__name__)


class Poll(NamedTuple):
    profile: Hashable


class ApiServerProbe(NamedTuple):
    """The key of the readiness probe of the API server while it is down."""


class Outcome(Protocol):
    """What the scheduler reads of one sync's result (``handlers.sync_run.SyncResult``)."""

    @property
    def status(self) -> dict[str, Any]: ...

    @property
    def failed(self) -> bool: ...

    @property
    def watched(self) -> Mapping[str, tuple[Any, str]]: ...

    @property
    def versions(self) -> Mapping[str, str]: ...

    @property
    def apiserver_down(self) -> bool: ...


@dataclass(frozen=True)
class Hooks:
    """Everything the scheduler does not decide itself, passed in by the kopf glue."""

    sync: Callable[[dict[str, Any]], Outcome]
    """Blocking: one sync of one body (``SyncEngine.sync``); run in the thread pool."""
    after_sync: Callable[[str, dict[str, Any], Outcome, float], Awaitable[None]]
    """Writes status and events of one sync (owner, body synced, outcome, seconds)."""
    wanted: Callable[[Mapping[str, Any]], Hashable]
    """What, when it changes, must sync at once (generation, refresh annotation)."""
    interval: Callable[[Mapping[str, Any], Outcome], float]
    """Refresh interval of a ManagedSecret, in seconds."""
    lifecycle_wait: Callable[[Mapping[str, Any], Mapping[str, Any]], float]
    """Seconds until rotation or expiry needs a sync (body, status); inf: never."""
    backend: Callable[[Any], Any] | None = None
    """Blocking: the backend of a profile as it is now (rebuilt after a credential rotation);
    None: the one the last sync used."""
    apiserver_ready: Callable[[], bool] | None = None
    """Blocking: whether the API server is ready again; None: failed syncs retry alone."""


@dataclass(frozen=True)
class SchedulerSettings:
    workers: int = 16
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0
    probe_cap_seconds: float = 10.0
    """Longest wait between two probes of a vault that is down. A probe is one change listing
    per profile, so it can be frequent; it bounds how late recovery starts after an outage."""
    apiserver_probe_cap_seconds: float = 2.0
    """Longest wait between two readiness probes of an API server that is down (one GET)."""
    backend_concurrency: int = 16
    operator_rate: Limit | None = None
    min_wait_seconds: float = 1.0
    jitter: float = 0.1
    """Fraction of an interval added at random to each poll deadline."""
    per_path_providers: frozenset[str] = frozenset({"hashicorp", "azure", "env"})
    """Providers whose change listing costs one call per path: their listings are split into
    parallel chunks. The others list a whole store in one paged call."""


@dataclass(slots=True)
class Record:
    """What the scheduler keeps of one ManagedSecret between events.

    The body is kept as compact JSON, deflated: a parsed ManagedSecret is about 10 KB of Python
    objects for 2 KB of JSON and 0.8 KB deflated, and every one is kept for as long as the
    operator runs (100,000 bodies: 80 MB rather than 200 MB of JSON). A sync inflates and parses
    its own copy (tens of microseconds); each watch event deflates once (about 30 microseconds).
    """

    body_json: bytes
    """Deflated compact JSON (``zlib``)."""
    synced_wanted: Hashable = None
    written: tuple[str | None, bytes] | None = None
    """(resourceVersion the last sync started from, the status it wrote as compact JSON) until the
    watch delivers a newer body; held as JSON for the same reason as the body."""
    failed: bool = False
    synced_at: float | None = None
    profiles: frozenset[Hashable] = frozenset()
    """The VaultProfiles its last sync used (source and sync targets)."""

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(zlib.decompress(self.body_json))
        return parsed

    def snapshot(self) -> dict[str, Any]:
        """The body to sync, with the status we last wrote if the watch has not delivered it yet
        (a sync right after our own patch would otherwise drop what that patch recorded)."""
        body = self.body
        if self.written is not None and body["metadata"].get("resourceVersion") == self.written[0]:
            body["status"] = json.loads(self.written[1])
        return body


RunBlocking = Callable[..., Awaitable[Any]]
T = TypeVar("T")


async def run_in(executor: concurrent.futures.Executor, fn: Callable[..., T], *args: Any) -> T:
    """Runs a blocking call in ``executor`` (the one bounded thread pool of the operator)."""
    return await asyncio.get_running_loop().run_in_executor(executor, lambda: fn(*args))


@dataclass(frozen=True)
class Health:
    leader: float
    last_progress: float
    depth: float
    overdue: float
    backends: list[tuple[str, bool]]


DEFLATE_LEVEL = 1
"""The fastest level: a ManagedSecret's JSON deflates to 40 % of its size, level 9 gains little more."""


def _compact(body: Mapping[str, Any]) -> bytes:
    """The body without what no sync reads (``managedFields`` is often larger than the spec), as
    deflated compact JSON."""
    kept = dict(body)
    metadata = dict(kept.get("metadata") or {})
    metadata.pop("managedFields", None)
    kept["metadata"] = metadata
    return zlib.compress(json.dumps(kept, separators=(",", ":")).encode(), DEFLATE_LEVEL)


def _name(profile: Hashable) -> str:
    namespace, name = getattr(profile, "namespace", None), getattr(profile, "name", None)
    return f"{namespace}/{name}" if name is not None else str(profile)


@dataclass
class SyncScheduler:
    hooks: Hooks
    settings: SchedulerSettings
    run_blocking: RunBlocking
    """Runs a blocking call in the bounded thread pool."""
    threads: int = 8
    clock: Clock = field(default_factory=MonotonicClock)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        s = self.settings
        self.queue: WorkQueue[Hashable] = WorkQueue(
            self.clock, ItemBackoff(s.retry_base_seconds, s.retry_cap_seconds, self.rng)
        )
        self.probes: ItemBackoff[Hashable] = ItemBackoff(s.retry_base_seconds, s.probe_cap_seconds, self.rng)
        """Backoff of the probe (the change listing) of each profile that is down."""
        self.tracker = ChangeTracker()
        self.limits = CallLimits(self.clock, s.backend_concurrency, s.operator_rate)
        self.records: dict[str, Record] = {}
        self.down: set[Hashable] = set()
        """Profiles whose change listing fails: their owners wait on the poll's backoff."""
        self.apiserver_probes: ItemBackoff[Hashable] = ItemBackoff(
            0.5, s.apiserver_probe_cap_seconds, self.rng
        )
        self.deferred_checks: dict[str, list[Callable[[], bool]]] = {}
        """Owners whose sync was asked for while one ran, with what would make it needless."""
        self.waiting_for_apiserver: set[str] = set()
        """Owners whose last status could not be written: the API server probe wakes them."""
        self.last_progress: float | None = None
        """Wall-clock time of the last finished sync or listing."""
        self._timer_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.active = asyncio.Event()
        """Set while this replica leads: only then do workers sync or list."""

    # -- what the kopf glue calls -------------------------------------------------------------

    def observe(self, owner: str, body: Mapping[str, Any]) -> None:
        """A watch event of a ManagedSecret: remember it; queue it when what it wants moved."""
        kept = _compact(body)
        record = self.records.get(owner)
        if record is None:
            record = self.records[owner] = Record(kept)
        else:
            record.body_json = kept
            if record.written is not None and body["metadata"].get("resourceVersion") != record.written[0]:
                record.written = None  # a newer body: what snapshot() would use anyway
        if self.hooks.wanted(body) != record.synced_wanted:
            self.queue.add(owner, urgent=record.synced_at is not None)

    def force(self, owner: str, unless: Callable[[], bool] | None = None) -> None:
        """Something outside the ManagedSecret moved (a target, a reference): sync it soon.

        ``unless`` is asked once the sync in flight, if any, has finished: the watch event of a
        Secret that sync is writing can arrive before the sync has noted the write as its own,
        and each such echo cost a second sync (a fifth of all syncs at 10,000 new objects).
        """
        if owner not in self.records:
            return
        if unless is not None and self.queue.is_processing(owner):
            self.deferred_checks.setdefault(owner, []).append(unless)
            return
        self.queue.add(owner)

    def forget(self, owner: str) -> None:
        """The ManagedSecret is being deleted or is gone: no more syncs are started for it."""
        self.records.pop(owner, None)
        self.deferred_checks.pop(owner, None)
        self.queue.discard(owner)
        self.tracker.forget(owner)

    def owners(self) -> list[str]:
        return list(self.records)

    def set_rate(self, profile: Hashable, limit: Limit | None) -> None:
        self.limits.set_rate(profile, limit)

    def resume(self) -> None:
        """This replica leads (again): every ManagedSecret syncs once, as after a restart."""
        for owner in self.records:
            self.queue.add(owner)
        self.active.set()

    def pause(self) -> None:
        """This replica no longer leads: syncs in flight finish, no new one starts."""
        self.active.clear()

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._timers(), name="vaultsync-timers")]
        self._tasks += [
            asyncio.create_task(self._worker(), name=f"vaultsync-worker-{i}")
            for i in range(self.settings.workers)
        ]

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self._tasks = []

    # -- the loops -------------------------------------------------------------------------------

    def _after(self, key: Hashable, delay: float, *, replace: bool = False) -> None:
        self.queue.add_after(key, delay, replace=replace)
        self._timer_wake.set()

    def _retry(self, key: Hashable) -> None:
        self.queue.add_rate_limited(key)
        self._timer_wake.set()

    async def _timers(self) -> None:
        while True:
            self._timer_wake.clear()
            deadline = self.queue.pump()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.now())
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._timer_wake.wait()

    async def _worker(self) -> None:
        while True:
            await self.active.wait()
            key = await self.queue.get()
            if key is None:
                return
            if not self.active.is_set():
                self.queue.done(key)
                self.queue.add(key)
                continue
            try:
                if isinstance(key, Poll):
                    await self._poll(key)
                elif isinstance(key, ApiServerProbe):
                    await self._probe_apiserver(key)
                else:
                    await self._sync(str(key))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # no worker may die; the key retries
                log.warning("%s: %s failed (%s), retrying with backoff", key, type(e).__name__, e)
                self._retry(key)
            finally:
                checks = self.deferred_checks.pop(key, ()) if isinstance(key, str) else ()
                if not all(check() for check in checks):
                    self.queue.add(key)
                self.queue.done(key)

    async def _sync(self, owner: str) -> None:
        record = self.records.get(owner)
        if record is None:
            return
        body = record.snapshot()
        # What this sync serves: the echoes of its own writes, arriving while it runs, want nothing new.
        record.synced_wanted = self.hooks.wanted(body)
        started = time.monotonic()
        async with self.limits.hold(record.profiles):
            outcome: Outcome = await self.run_blocking(self.hooks.sync, body)
        await self.hooks.after_sync(owner, body, outcome, time.monotonic() - started)
        self.last_progress = time.time()
        if self.records.get(owner) is not record:
            return  # deleted while it synced
        status = json.dumps(outcome.status, separators=(",", ":")).encode()
        record.written = (body["metadata"].get("resourceVersion"), status)
        record.synced_at = self.clock.now()
        record.failed = outcome.failed
        record.profiles = frozenset(p.key for p, _ in outcome.watched.values() if p is not None)
        interval = self.hooks.interval(body, outcome)
        entries = [
            (profile, path, outcome.versions.get(target))
            for target, (profile, path) in outcome.watched.items()
            if profile is not None
        ]
        if outcome.failed:
            # It stays watched (what it saw before still holds), so its profile keeps one probe.
            if not self.tracker.profiles_of(owner):
                self._watch(owner, [(p, path, None) for p, path, _ in entries], interval)
            if outcome.apiserver_down and self.hooks.apiserver_ready is not None:
                self._wait_for_apiserver(owner)
            elif not record.profiles & self.down:
                self._retry(owner)  # else the profile's probe wakes it when the vault is back
            return
        self.queue.forget(owner)
        self._watch(owner, entries, interval)
        wait = self.hooks.lifecycle_wait(body, outcome.status)
        if not entries:
            # Nothing a listing can watch: look again every interval.
            wait = min(wait, interval * (1 + self.rng.uniform(0, self.settings.jitter)))
        if math.isfinite(wait):
            self._after(owner, max(self.settings.min_wait_seconds, wait), replace=True)
        else:
            self.queue.timers.cancel(owner)

    def _watch(self, owner: str, entries: list[tuple[Any, str, str | None]], interval: float) -> None:
        for profile in self.tracker.remember(owner, entries, interval, self.clock.now()):
            self._schedule_poll(profile)

    def _schedule_poll(self, profile: Hashable) -> None:
        due = self.tracker.next_poll(profile)
        if due is None:
            self.queue.timers.cancel(Poll(profile))
            return
        spread = (due - self.clock.now()) * self.settings.jitter * self.rng.random()
        self._after(Poll(profile), max(0.0, due - self.clock.now()) + max(0.0, spread))

    async def _poll(self, key: Poll) -> None:
        found = self.tracker.due(key.profile, self.clock.now(), whole=not self._per_path(key.profile))
        if found is None:
            return
        profile, paths = found
        if paths:
            started = self.clock.now()
            try:
                tokens = await self._list(profile, paths)
            except Exception as e:  # a vault down is a state, not a crash
                self._poll_failed(key, e)
                return
            self.last_progress = time.time()
            if key.profile in self.down:
                self._recovered(key)
            for owner in self.tracker.observe(key.profile, paths, tokens, started):
                if owner not in self.waiting_for_apiserver:  # the probe queues those
                    self.queue.add(owner)
        self._schedule_poll(key.profile)

    def _recovered(self, key: Poll) -> None:
        """The vault answers again: every owner that failed with it syncs (within its limits)."""
        self.down.discard(key.profile)
        self.probes.forget(key)
        log.warning("%s: change listing works again; re-syncing the secrets that failed", key)
        for owner, record in self.records.items():
            if record.failed and key.profile in record.profiles:
                self.queue.add(owner)

    def _poll_failed(self, key: Poll, error: Exception) -> None:
        delay = self.probes.when(key)
        self._after(key, delay, replace=True)
        if key.profile in self.down:
            return
        self.down.add(key.profile)
        log.warning("%s: change listing failed (%s); probing again in %.0fs", key, error, delay)
        for owner in self.tracker.owners_of(key.profile):
            record = self.records.get(owner)
            if record is not None and not record.failed:
                self.queue.add(owner)  # once, so that its status says why

    def _wait_for_apiserver(self, owner: str) -> None:
        if not self.waiting_for_apiserver:
            key = ApiServerProbe()
            delay = self.apiserver_probes.when(key)
            log.warning("API server unreachable; secrets wait for it, probing again in %.1fs", delay)
            self._after(key, delay, replace=True)
        self.waiting_for_apiserver.add(owner)

    async def _probe_apiserver(self, key: ApiServerProbe) -> None:
        assert self.hooks.apiserver_ready is not None  # noqa: S101 - only scheduled when set
        try:
            ready = await self.run_blocking(self.hooks.apiserver_ready)
        except Exception:  # a probe that cannot run is a probe that failed
            ready = False
        if not ready:
            self._after(key, self.apiserver_probes.when(key), replace=True)
            return
        self.apiserver_probes.forget(key)
        waiting, self.waiting_for_apiserver = self.waiting_for_apiserver, set()
        log.warning("API server ready again; re-syncing %d secrets that waited for it", len(waiting))
        for owner in waiting:
            if owner in self.records:
                self.queue.add(owner)

    def _list_blocking(self, profile: Watchable, paths: list[str]) -> Any:
        backend = self.hooks.backend(profile) if self.hooks.backend is not None else profile.backend
        return backend.list_changes(None, paths)

    def _per_path(self, key: Hashable) -> bool:
        profile = self.tracker.profile(key)
        return str(getattr(profile, "provider_key", "")) in self.settings.per_path_providers

    async def _list(self, profile: Watchable, paths: list[str]) -> dict[str, str]:
        chunks = [paths]
        if self._per_path(profile.key) and len(paths) > 1:
            parallel = max(1, min(self.threads, self.settings.backend_concurrency))
            size = math.ceil(len(paths) / parallel)
            chunks = [paths[i : i + size] for i in range(0, len(paths), size)]

        async def one(chunk: list[str]) -> dict[str, str]:
            async with self.limits.hold([profile.key]):
                change_set = await self.run_blocking(self._list_blocking, profile, chunk)
            return dict(change_set.marker.tokens)

        tokens: dict[str, str] = {}
        for part in await asyncio.gather(*(one(chunk) for chunk in chunks)):
            tokens.update(part)
        return tokens

    # -- what status and metrics read ------------------------------------------------------------

    def health(self, leader: bool) -> Health:
        """What status surfaces read: leadership, queue depth, lateness, backends up or down."""
        profiles = {key for owner in self.records for key in self.tracker.profiles_of(owner)} | self.down
        backends = sorted((_name(p), p not in self.down) for p in profiles)
        if self.waiting_for_apiserver:
            backends.append(("Kubernetes API server", False))
        return Health(
            leader=1.0 if leader else 0.0,
            last_progress=self.last_progress or 0.0,
            depth=float(len(self.queue)),
            overdue=self.overdue(),
            backends=backends,
        )

    def overdue(self) -> float:
        """Seconds the most overdue timer (refresh, retry, poll) is late; 0 when none is."""
        deadline = self.queue.timers.next_deadline()
        return 0.0 if deadline is None else max(0.0, self.clock.now() - deadline)
