"""The scheduler end to end in one process: watch events, change listings, failures and a vault
outage, against an in-memory vault. Every assertion waits for a fact, never for a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import math
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from vaultsync.backends.interface import ChangeSet, changes_between
from vaultsync.sync.scheduler import ApiServerProbe, Hooks, Poll, SchedulerSettings, SyncScheduler

INTERVAL = 0.2


class Vault:
    """An in-memory vault: path -> version; it counts listings per path and can be taken down."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.listed: dict[str, int] = {}
        self.calls: list[list[str]] = []
        self.down = False
        self._lock = threading.Lock()

    def list_changes(self, since: Any, paths: list[str]) -> ChangeSet:
        with self._lock:
            if self.down:
                raise ConnectionError("vault unreachable")
            for path in paths:
                self.listed[path] = self.listed.get(path, 0) + 1
            self.calls.append(sorted(paths))
            tokens = {p: str(self.versions[p]) for p in paths if p in self.versions}
        return changes_between(since, tokens, paths)


@dataclass(frozen=True)
class Profile:
    key: Hashable
    backend: Vault
    provider_key: str = "hashicorp"
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    status: dict[str, Any]
    failed: bool
    watched: dict[str, tuple[Any, str]]
    versions: dict[str, str]
    apiserver_down: bool = False


class World:
    def __init__(self, provider: str = "hashicorp") -> None:
        self.vault = Vault()
        self.profile = Profile("bao", self.vault, provider)
        self.syncs: list[str] = []
        self.written: list[str] = []
        self.apiserver_up = True
        self.readiness_probes = 0

    def sync(self, body: dict[str, Any]) -> Result:
        name = body["metadata"]["name"]
        self.syncs.append(name)
        path = body["spec"]["path"]
        watched = {"source": (self.profile, path)}
        if self.vault.down:
            return Result({"phase": "Failed"}, True, watched, {})
        version = str(self.vault.versions[path])
        return Result({"phase": "Synced", "version": version}, False, watched, {"source": version})

    async def after_sync(self, owner: str, body: dict[str, Any], result: Any, seconds: float) -> None:
        if not self.apiserver_up:  # what the status patch of the kopf glue reports
            result.failed = result.apiserver_down = True
            return
        self.written.append(f"{owner}:{result.status['phase']}:{result.status.get('version')}")

    def ready(self) -> bool:
        self.readiness_probes += 1
        return self.apiserver_up


def _body(name: str, generation: int = 1, rv: str = "1") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": name, "generation": generation, "resourceVersion": rv},
        "spec": {"path": f"p/{name}"},
    }


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        yield pool


def _scheduler(
    world: World, executor: concurrent.futures.Executor, settings: SchedulerSettings | None = None
) -> SyncScheduler:
    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))

    hooks = Hooks(
        sync=world.sync,
        after_sync=world.after_sync,
        wanted=lambda body: body["metadata"]["generation"],
        interval=lambda body, result: INTERVAL,
        lifecycle_wait=lambda body, status: float("inf"),
        apiserver_ready=world.ready,
    )
    settings = settings or SchedulerSettings(
        workers=3, retry_base_seconds=0.05, retry_cap_seconds=0.2, min_wait_seconds=0.01
    )
    return SyncScheduler(hooks, settings, run, threads=4)


@contextlib.asynccontextmanager
async def running(
    world: World, executor: concurrent.futures.Executor, count: int, settings: SchedulerSettings | None = None
) -> AsyncIterator[SyncScheduler]:
    """A started, leading scheduler whose ``count`` secrets ``s0``... have synced once."""
    names = [f"s{i}" for i in range(count)]
    world.vault.versions.update({f"p/{n}": 1 for n in names})
    scheduler = _scheduler(world, executor, settings)
    scheduler.start()
    scheduler.resume()
    try:
        for name in names:
            scheduler.observe(f"ns/{name}", _body(name))
        await _until(lambda: len(world.syncs) == count, "all synced")
        yield scheduler
    finally:
        await scheduler.stop()


async def _until(fact: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not fact():
            await asyncio.sleep(0.005)
    assert fact(), what


async def test_events_sync_once_echoes_cost_nothing_and_spec_changes_sync_again(
    world: World, executor: concurrent.futures.Executor
) -> None:
    async with running(world, executor, 2) as scheduler:
        listed = sum(world.vault.listed.values())
        scheduler.observe("ns/s0", _body("s0", rv="2"))  # the echo of our own status write
        await _until(lambda: sum(world.vault.listed.values()) >= listed + 2, "two more listings")
        assert sorted(world.syncs) == ["s0", "s1"], "an echo and an unchanged vault cost no sync"
        scheduler.observe("ns/s0", _body("s0", generation=2, rv="3"))
        await _until(lambda: world.syncs.count("s0") == 2, "a spec change syncs at once")


async def test_a_changed_path_is_seen_by_the_next_listing_and_only_its_owner_syncs(
    world: World, executor: concurrent.futures.Executor
) -> None:
    async with running(world, executor, 20):
        world.vault.versions["p/s7"] = 2
        await _until(lambda: world.syncs.count("s7") == 2, "the changed source synced again")
        before = dict(world.vault.listed)
        await _until(lambda: min(world.vault.listed.values()) >= min(before.values()) + 2, "two intervals")
        assert len(world.syncs) == 21, "no other secret synced"
        spread = max(world.vault.listed.values()) - min(world.vault.listed.values())
        assert spread <= 1, "every path is listed as often as the others: once per interval"


async def test_while_the_vault_is_down_one_probe_waits_and_recovery_resyncs_every_failed_secret(
    world: World, executor: concurrent.futures.Executor
) -> None:
    names = [f"s{i}" for i in range(5)]
    async with running(world, executor, 5) as scheduler:
        world.vault.down = True
        await _until(lambda: scheduler.down == {"bao"}, "the listing sees the outage")
        await _until(lambda: world.written.count("ns/s0:Failed:None") == 1, "each secret says it failed")
        await _until(lambda: all(f"ns/{n}:Failed:None" in world.written for n in names), "all failed")
        failed_syncs = len(world.syncs)
        await _until(lambda: scheduler.probes.failures(Poll("bao")) >= 3, "the probe retried")
        assert len(world.syncs) == failed_syncs, "while the vault is down no secret retries alone"
        world.vault.down = False
        await _until(lambda: not scheduler.down, "the probe sees the vault back")
        await _until(
            lambda: all(world.written.count(f"ns/{n}:Synced:1") == 2 for n in names), "every secret recovered"
        )


async def test_a_down_vault_is_probed_at_least_every_probe_cap_whatever_the_retry_cap(
    world: World, executor: concurrent.futures.Executor
) -> None:
    """Recovery starts at most one probe cap after the vault answers again: with the retry backoff
    (1 s doubling) eight probes would take about two minutes; capped at 0.1 s, under a second."""
    settings = SchedulerSettings(
        workers=3,
        retry_base_seconds=1.0,
        retry_cap_seconds=300.0,
        probe_cap_seconds=0.1,
        min_wait_seconds=0.01,
    )
    async with running(world, executor, 2, settings) as scheduler:
        world.vault.down = True
        await _until(lambda: scheduler.probes.failures(Poll("bao")) >= 8, "eight probes", timeout=20)
        world.vault.down = False
        await _until(lambda: not scheduler.down, "the next probe sees the vault back", timeout=5)


async def test_a_deleted_secret_is_never_synced_again(
    world: World, executor: concurrent.futures.Executor
) -> None:
    async with running(world, executor, 2) as scheduler:
        scheduler.forget("ns/s0")
        world.vault.versions["p/s0"] = 2
        listed = world.vault.listed.get("p/s1", 0)
        await _until(lambda: world.vault.listed.get("p/s1", 0) >= listed + 2, "s1's path listed twice more")
        assert world.syncs.count("s0") == 1
        assert world.vault.listed.get("p/s0", 0) <= listed + 1, "a forgotten path is not listed"


async def test_a_store_listed_in_one_call_is_listed_whole_once_any_path_is_due(
    executor: concurrent.futures.Executor,
) -> None:
    world = World(provider="aws")
    async with running(world, executor, 3) as scheduler:
        world.vault.versions["p/late"] = 1
        scheduler.observe("ns/late", _body("late"))
        await _until(lambda: "late" in world.syncs, "a secret registered later")
        calls = len(world.vault.calls)
        await _until(lambda: len(world.vault.calls) >= calls + 2, "two more listings")
        everything = ["p/late", "p/s0", "p/s1", "p/s2"]
        assert world.vault.calls[-2:] == [everything, everything], "one listing covers every path"


async def test_while_the_apiserver_is_down_secrets_wait_on_one_probe_and_all_sync_when_it_is_back(
    world: World, executor: concurrent.futures.Executor
) -> None:
    names = [f"s{i}" for i in range(5)]
    settings = SchedulerSettings(
        workers=3,
        retry_base_seconds=0.05,
        retry_cap_seconds=0.2,
        apiserver_probe_cap_seconds=0.05,
        min_wait_seconds=0.01,
    )
    async with running(world, executor, 5, settings) as scheduler:
        world.apiserver_up = False
        for name in names:
            world.vault.versions[f"p/{name}"] = 2
        await _until(lambda: scheduler.waiting_for_apiserver == {f"ns/{n}" for n in names}, "all wait")
        syncs = len(world.syncs)
        await _until(lambda: scheduler.apiserver_probes.failures(ApiServerProbe()) >= 5, "the probe retried")
        assert len(world.syncs) == syncs, "while the API server is down no secret retries alone"
        assert ("Kubernetes API server", False) in scheduler.health(leader=True).backends
        world.apiserver_up = True
        await _until(
            lambda: all(f"ns/{n}:Synced:2" in world.written for n in names),
            "every secret written once it is back",
        )
        assert not scheduler.waiting_for_apiserver


def test_a_record_keeps_deflated_json_without_managed_fields_and_hands_out_fresh_copies(
    world: World, executor: concurrent.futures.Executor
) -> None:
    scheduler = _scheduler(world, executor)
    body = _body("s0")
    body["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    scheduler.observe("ns/s0", body)
    record = scheduler.records["ns/s0"]
    assert isinstance(record.body_json, bytes)
    assert b"managedFields" not in zlib.decompress(record.body_json)
    assert len(record.body_json) < len(json.dumps(body)) / 2, "kept deflated"
    first = record.snapshot()
    first["spec"]["path"] = "changed by a sync"
    assert record.snapshot()["spec"]["path"] == "p/s0", "a sync cannot change what the record holds"


def test_the_status_a_sync_wrote_stands_in_for_the_watch_until_a_newer_body_arrives(
    world: World, executor: concurrent.futures.ThreadPoolExecutor
) -> None:
    """A sync right after our own status patch must see that status; once the watch delivers a
    newer body the scheduler keeps none of it (10,000 status dicts were 70 MB of Python objects)."""
    scheduler = _scheduler(world, executor)
    scheduler.observe("ns/s0", _body("s0", rv="7"))
    record = scheduler.records["ns/s0"]
    record.written = ("7", b'{"phase":"Synced","version":"3"}')
    assert record.snapshot()["status"] == {"phase": "Synced", "version": "3"}
    scheduler.observe("ns/s0", {**_body("s0", rv="8"), "status": {"phase": "Synced", "version": "3"}})
    assert record.written is None
    assert record.snapshot()["status"] == {"phase": "Synced", "version": "3"}
    scheduler.observe("ns/s0", _body("s0", rv="8"))
    assert "status" not in record.snapshot(), "the watch's body wins once it is newer"


class SlowWorld(World):
    """A world whose next sync of ``s0`` waits for ``release``, so events can arrive during it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def sync(self, body: dict[str, Any]) -> Result:
        if body["metadata"]["name"] == "s0" and not self.release.is_set():
            self.started.set()
            self.release.wait(10)
        return super().sync(body)


@pytest.mark.parametrize(("own_write", "syncs_of_s0"), [(True, 2), (False, 3)])
async def test_an_event_during_a_sync_that_the_sync_caused_costs_no_second_sync(
    executor: concurrent.futures.ThreadPoolExecutor, own_write: bool, syncs_of_s0: int
) -> None:
    world = SlowWorld()
    world.release.set()
    async with running(world, executor, 2) as scheduler:
        world.release.clear()
        scheduler.observe("ns/s0", _body("s0", generation=2, rv="5"))  # a spec change: s0 syncs
        await asyncio.get_running_loop().run_in_executor(None, world.started.wait, 10)
        noted = threading.Event()
        scheduler.force("ns/s0", unless=noted.is_set)  # the watch echo of the Secret it writes
        if own_write:
            noted.set()  # the sync notes its write before it ends
        world.release.set()
        await _until(lambda: world.syncs.count("s0") >= 2, "the spec change synced")
        scheduler.force("ns/s1")  # activity after it: its sync ends after any re-sync of s0 began
        await _until(lambda: world.syncs.count("s1") == 2, "s1 synced again")
        await _until(lambda: not scheduler.queue.processing and not len(scheduler.queue), "queue drained")
        assert world.syncs.count("s0") == syncs_of_s0


async def test_a_refused_sync_with_no_interval_waits_for_a_new_generation(
    world: World, executor: concurrent.futures.Executor
) -> None:
    """A spec the operator cannot read (``handlers.managedsecret.interval`` is inf for it): no
    retry, no refresh timer, echoes cost nothing; the next generation syncs at once."""
    generations: list[int] = []

    def refuse(body: dict[str, Any]) -> Result:
        generations.append(body["metadata"]["generation"])
        return Result({"phase": "Failed"}, False, {}, {})

    scheduler = _scheduler(world, executor)
    scheduler.hooks = replace(scheduler.hooks, sync=refuse, interval=lambda body, result: math.inf)
    scheduler.start()
    scheduler.resume()
    try:
        scheduler.observe("ns/bad", _body("bad"))
        await _until(lambda: "ns/bad:Failed:None" in world.written, "refused once")
        await _until(lambda: not scheduler.queue.is_processing("ns/bad"), "the sync is done")
        assert "ns/bad" not in scheduler.queue.timers, "no retry and no refresh timer"
        assert len(scheduler.queue) == 0
        scheduler.observe("ns/bad", _body("bad", rv="2"))  # the echo of its status write
        assert len(scheduler.queue) == 0
        scheduler.observe("ns/bad", _body("bad", generation=2, rv="3"))
        await _until(lambda: generations == [1, 2], "a new generation syncs at once")
    finally:
        await scheduler.stop()
