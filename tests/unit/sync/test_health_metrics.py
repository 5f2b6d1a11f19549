"""The status metrics (names are a contract) and ``vaultsync status`` reading them back."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from vaultsync.cli_status import scrape
from vaultsync.handlers.metrics import SchedulerCollector
from vaultsync.sync.scheduler import Health


def test_status_reads_what_the_operator_exposes() -> None:
    registry = CollectorRegistry()
    health = Health(
        leader=1.0,
        last_progress=1_700_000_000.0,
        depth=7.0,
        overdue=2.5,
        backends=[("team-a/bao", True), ("team-a/aws", False)],
    )
    registry.register(SchedulerCollector(lambda: health))
    gauges, backends = scrape(generate_latest(registry).decode())
    assert gauges == {
        "vaultsync_leader": 1.0,
        "vaultsync_last_sync_progress_timestamp_seconds": 1_700_000_000.0,
        "vaultsync_queue_depth": 7.0,
        "vaultsync_oldest_overdue_seconds": 2.5,
    }
    assert backends == {"team-a/bao": True, "team-a/aws": False}


def test_a_replica_before_start_exposes_nothing() -> None:
    registry = CollectorRegistry()
    registry.register(SchedulerCollector(lambda: None))
    assert scrape(generate_latest(registry).decode()) == ({}, {})
