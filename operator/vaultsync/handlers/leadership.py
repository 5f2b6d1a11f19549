"""Who syncs: the replica that holds the Lease (``sync.leader``), or this one alone without HA.

Every replica watches (so a standby's index is warm) and serves admission webhooks; only
the leader's scheduler runs. Losing the Lease pauses the scheduler; winning it resumes it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
from datetime import UTC, datetime

from vaultsync.backends.kube_http import KubeHttp
from vaultsync.sync.leader import ElectionSettings, LeaderElector
from vaultsync.sync.lease import KubeLease
from vaultsync.sync.scheduler import SyncScheduler, run_in
from vaultsync.sync.settings import OperatorSettings


class Leadership:
    def __init__(self, elector: LeaderElector | None, scheduler: SyncScheduler) -> None:
        self.elector = elector
        self.scheduler = scheduler
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def leading(self) -> bool:
        return self.elector is None or self.elector.leading.is_set()

    @property
    def holder(self) -> str | None:
        return self.elector.holder if self.elector is not None else None

    def start(self) -> None:
        if self.elector is None:
            self.scheduler.resume()
            return
        self._tasks = [
            asyncio.create_task(self.elector.run(), name="vaultsync-election"),
            asyncio.create_task(self._follow(self.elector), name="vaultsync-leadership"),
        ]

    async def _follow(self, elector: LeaderElector) -> None:
        while True:
            await elector.leading.wait()
            self.scheduler.resume()
            await elector.lost.wait()
            self.scheduler.pause()

    async def stop(self) -> None:
        self.scheduler.pause()
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.elector is not None:
            await self.elector.release()


def leadership(
    ours: OperatorSettings,
    http: KubeHttp,
    scheduler: SyncScheduler,
    executor: concurrent.futures.ThreadPoolExecutor,
) -> Leadership:
    if not ours.leader_election:
        return Leadership(None, scheduler)
    settings = ElectionSettings(
        identity=ours.identity,
        lease_duration=ours.lease_duration_seconds,
        renew_deadline=ours.renew_deadline_seconds,
        retry_period=ours.retry_period_seconds,
    )
    elector = LeaderElector(
        KubeLease(http, ours.namespace, ours.lease_name),
        settings,
        functools.partial(run_in, executor),
        lambda: datetime.now(UTC),
    )
    return Leadership(elector, scheduler)
