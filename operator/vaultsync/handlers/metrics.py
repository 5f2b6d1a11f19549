"""Prometheus metrics of the operator, served on ``OperatorSettings.metrics_port``.

Counters are bumped by the ManagedSecret daemon after each sync; backend call counts are
read from each backend's own ``CallCounter`` at scrape time, so the hot path pays nothing.

The chart's PrometheusRule and Grafana dashboard use these names (tests/chart checks each one
against a live operator): ``vaultsync_leader``, ``vaultsync_last_sync_progress_timestamp_seconds``,
``vaultsync_queue_depth`` and ``vaultsync_backend_up`` are the scheduler's contract.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

SYNCS = Counter(
    "vaultsync_syncs_total", "Syncs of ManagedSecrets by source backend and result.", ["backend", "result"]
)
SYNC_ERRORS = Counter("vaultsync_sync_errors_total", "Failed syncs by source backend.", ["backend"])
SYNC_SECONDS = Histogram(
    "vaultsync_sync_duration_seconds",
    "Duration of one sync of one ManagedSecret.",
    ["backend"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ACCESS_REVIEWS = Counter(
    "vaultsync_access_reviews_total",
    "SubjectAccessReviews sent for spec authors, by the namespace of the Secret and the answer.",
    ["namespace", "allowed"],
)
BY_PHASE = Gauge("vaultsync_managedsecrets", "ManagedSecrets by status phase.", ["phase"])
EARLIEST_EXPIRY = Gauge(
    "vaultsync_seconds_until_earliest_expiry",
    "Seconds until the earliest status.expiresAt of any ManagedSecret (negative when already expired, "
    "+Inf when none expires).",
)

SYNC_FAILURES = Counter(
    "vaultsync_sync_failures_total",
    "Failed syncs by the reason of the Synced condition (SourceUnavailable, TargetsFailed, ...).",
    ["reason"],
)
PENDING_APPROVAL_SECONDS = Gauge(
    "vaultsync_oldest_pending_approval_seconds",
    "Seconds since the longest-waiting ManagedSecret entered PendingApproval (0 when none waits).",
)

_phases: dict[str, str] = {}
_phase_counts: dict[str, int] = {}
_expiries: dict[str, float] = {}
_pending_since: dict[str, float] = {}
# At scrape time, so the value counts down between syncs; +Inf (no alert) while nothing expires.
EARLIEST_EXPIRY.set_function(lambda: min(_expiries.values(), default=math.inf) - time.time())
PENDING_APPROVAL_SECONDS.set_function(lambda: time.time() - min(_pending_since.values(), default=time.time()))


def observe_sync(owner: str, backend: str, seconds: float, status: dict[str, Any], failed: bool) -> None:
    """Records one sync: its duration and result, the phase and expiry of ``owner``."""
    SYNCS.labels(backend, "error" if failed else "ok").inc()
    if failed:
        SYNC_ERRORS.labels(backend).inc()
    SYNC_SECONDS.labels(backend).observe(seconds)
    synced: dict[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Synced"), {}
    )
    if failed:
        SYNC_FAILURES.labels(str(synced.get("reason") or "Unknown")).inc()
    _set_phase(owner, str(status.get("phase") or "Unknown"))
    if _phases[owner] == "PendingApproval":
        _pending_since.setdefault(owner, time.time())
    else:
        _pending_since.pop(owner, None)
    expires = status.get("expiresAt")
    if expires:
        _expiries[owner] = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
    else:
        _expiries.pop(owner, None)


def access_reviewed(namespace: str, allowed: bool) -> None:
    ACCESS_REVIEWS.labels(namespace, str(allowed).lower()).inc()


def forget(owner: str) -> None:
    _pending_since.pop(owner, None)
    _set_phase(owner, None)
    _expiries.pop(owner, None)


def _set_phase(owner: str, phase: str | None) -> None:
    """Moves ``owner`` between the phase gauges: two label updates, not a count over every object."""
    before = _phases.pop(owner, None) if phase is None else _phases.get(owner)
    if phase is not None:
        _phases[owner] = phase
    if before == phase:
        return
    if before is not None:
        _phase_counts[before] -= 1
        if _phase_counts[before]:
            BY_PHASE.labels(before).set(_phase_counts[before])
        else:
            del _phase_counts[before]
            BY_PHASE.remove(before)
    if phase is not None:
        _phase_counts[phase] = _phase_counts.get(phase, 0) + 1
        BY_PHASE.labels(phase).set(_phase_counts[phase])


class BackendCallsCollector(Collector):
    """Exposes every live backend's call counts as ``vaultsync_backend_calls_total``."""

    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "vaultsync_backend_calls",
            "Calls to vault SDKs by profile, backend and operation.",
            labels=["profile", "backend", "operation"],
        )
        for profile, backend, counts in self._snapshot():
            for operation, count in counts.items():
                family.add_metric([profile, backend, operation], count)
        yield family


class SchedulerCollector(Collector):
    """Leadership, queue and backend health, read from the scheduler at scrape time.

    A stopped, paused or standby operator shows here within one scrape: ``vaultsync_leader`` is
    0 on a standby and the progress timestamp stops moving, without any status write.
    """

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self._state()
        if state is None:
            return
        yield GaugeMetricFamily("vaultsync_leader", "1 on the replica that syncs.", value=state.leader)
        yield GaugeMetricFamily(
            "vaultsync_last_sync_progress_timestamp_seconds",
            "Unix time of the last finished sync or change listing of this replica.",
            value=state.last_progress,
        )
        yield GaugeMetricFamily(
            "vaultsync_queue_depth", "ManagedSecrets and listings waiting for a worker.", value=state.depth
        )
        yield GaugeMetricFamily(
            "vaultsync_oldest_overdue_seconds",
            "How late the most overdue refresh, retry or change listing is.",
            value=state.overdue,
        )
        up = GaugeMetricFamily(
            "vaultsync_backend_up", "0 while a VaultProfile's change listing fails.", labels=["profile"]
        )
        for profile, ok in state.backends:
            up.add_metric([profile], 1.0 if ok else 0.0)
        yield up


def serve(
    port: int,
    snapshot: Any,
    state: Any = None,
    address: str = "0.0.0.0",  # noqa: S104 - in a pod Prometheus scrapes the pod IP; see settings
) -> None:
    """Starts the metrics endpoint on ``address`` (no-op for port 0)."""
    if port <= 0:
        return
    REGISTRY.register(BackendCallsCollector(snapshot))
    if state is not None:
        REGISTRY.register(SchedulerCollector(state))
    start_http_server(port, addr=address)
    time.sleep(0)
