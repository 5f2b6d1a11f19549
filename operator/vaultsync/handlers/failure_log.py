"""Failure logging that stays readable in an outage: once per change, plus one summary per backend.

During a vault outage every secret stored in it fails on each retry. Logging each attempt gave
about 1,900 lines a minute at 300 secrets. Here an object's failure is logged when its state
changes (it starts failing, fails differently, or recovers), at most ``burst`` such lines per
backend per interval (300 secrets failing together are one outage, not 300 news); while a
backend keeps failing, one summary line per interval says how many objects it holds back, how
many changes went unlogged, and one example reason. At 300 secrets that is at most
``burst + 2`` lines a minute per failing backend, whatever the retry rate.

The sync loop calls :func:`observe_sync` after each sync and logs the sync's own lines only
when it returns True.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultsync.sync.kubeapi import kube_error

SUMMARY_INTERVAL = 60.0
"""Seconds between two summaries of one failing backend."""
BURST = 5
"""Objects' state changes logged one by one per backend per interval; the rest are counted."""
FAILED = "Failed"


@dataclass
class _Backend:
    owners: dict[str, str] = field(default_factory=dict)
    """Failing object -> its reason."""
    summarized_at: float | None = None
    window_start: float = 0.0
    logged: int = 0
    """State changes logged one by one since ``window_start``."""
    unlogged: int = 0
    """State changes left to the next summary."""
    recovered: bool = False
    """Its recovery was logged since its last summary (objects that fail on it again within the
    interval are summarized at the end of that interval: an outage flapping is one story)."""

    def allow(self, now: float, interval: float, burst: int) -> bool:
        if now - self.window_start >= interval:
            self.window_start, self.logged = now, 0
        if self.logged < burst:
            self.logged += 1
            return True
        self.unlogged += 1
        return False


class _NoRetryNotes(logging.Filter):
    """Drops urllib3's "Retrying (...)" warnings: one per call and attempt in an outage.

    The failure itself still surfaces (and is logged here once per change); "Connection pool
    is full" and every other urllib3 warning still pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Retrying (")


class RepeatedRetryNotes(logging.Filter):
    """kopf logs each failed attempt of each API request: in a 60 s API server outage, thousands
    of "Request attempt #n failed; will retry" lines for queued event posts and every watch.
    One line per request kind (method and path) per interval passes, with the count of the
    similar lines it stands for; "Failed to post an event" likewise.
    """

    MAX_KEYS = 1024

    def __init__(
        self, interval: float = SUMMARY_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        key = _retry_key(message)
        if key is None:
            return True
        now = self._clock()
        with self._lock:
            if len(self._seen) >= self.MAX_KEYS:
                self._seen.clear()
            last, suppressed = self._seen.get((record.name, key), (None, 0))
            if last is not None and now - last < self._interval:
                self._seen[(record.name, key)] = (last, suppressed + 1)
                return False
            self._seen[(record.name, key)] = (now, 0)
        if suppressed:
            record.msg, record.args = f"{message} ({suppressed} similar lines not logged)", None
        return True


def _retry_key(message: str) -> str | None:
    if message.startswith("Failed to post an event"):
        return "post event"
    if not message.startswith("Request attempt #"):
        return None
    request = message.partition(": ")[2].partition(" -> ")[0]
    return request.partition("?")[0] or "request"


KOPF_REQUEST_LOGGERS = (
    "kopf._cogs.clients.api",
    "kopf._cogs.clients.watching",
    "kopf._core.engines.posting",
    "kopf.objects",
)


def quiet_transport_retries() -> None:
    """Install the filters on urllib3's pool logger and kopf's request loggers (idempotent)."""
    pool_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _NoRetryNotes) for f in pool_logger.filters):
        pool_logger.addFilter(_NoRetryNotes())
    for name in KOPF_REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatedRetryNotes) for f in logger.filters):
            logger.addFilter(RepeatedRetryNotes())


def failing_backends(status: Mapping[str, Any], source: str | None) -> set[str]:
    """The backends a status blames: failed targets' profiles (or "kubernetes"), else the source's."""
    blamed = {
        str(entry.get("vaultProfile") or "kubernetes")
        for entry in status.get("targets") or []
        if entry.get("state") == FAILED
    }
    if not blamed and status.get("phase") == FAILED:
        blamed.add(source or "unknown")
    return blamed


class FailureLog:
    """Decides which failures are worth a log line; thread-safe."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = SUMMARY_INTERVAL,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, tuple[str, ...]] = {}
        self._backends: dict[str, _Backend] = {}

    def observe(self, owner: str, state: tuple[str, ...], reason: str, backends: Iterable[str]) -> bool:
        """Record ``owner``'s state after a sync; True when it changed (log the sync's lines then).

        ``state`` is what counts as a change (e.g. phase and condition reason, not a message with
        a timestamp); ``backends`` are those it fails on (empty: it is healthy).
        """
        blamed = set(backends)
        with self._lock:
            now = self._clock()
            changed = self._states.get(owner) != state
            self._states[owner] = state
            involved = set(blamed)
            for name, backend in self._backends.items():
                if owner in backend.owners and name not in blamed:
                    backend.owners.pop(owner)
                    involved.add(name)
            for name in blamed:
                self._backends.setdefault(name, _Backend()).owners[owner] = reason
            if changed and involved:
                # Counted against every backend involved, so none exceeds its budget.
                allowed = [
                    self._backends[n].allow(now, self._interval, self._burst) for n in sorted(involved)
                ]
                changed = all(allowed)
            summaries = self._due(now)
        for line, args in summaries:
            self._logger.warning(line, *args)
        return changed

    def forget(self, owner: str) -> None:
        """``owner`` is gone (deleted, or no longer ours to sync)."""
        self.observe(owner, (), "", ())
        with self._lock:
            self._states.pop(owner, None)

    def failing(self) -> dict[str, int]:
        """Failing objects per backend (the status CLI and metrics can read it)."""
        with self._lock:
            return {name: len(b.owners) for name, b in self._backends.items() if b.owners}

    def _due(self, now: float) -> list[tuple[str, tuple[Any, ...]]]:
        lines: list[tuple[str, tuple[Any, ...]]] = []
        for name, backend in sorted(self._backends.items()):
            if not backend.owners:
                if backend.summarized_at is not None and not backend.recovered:
                    lines.append(
                        (
                            "backend %s: no object fails on it any more (%d changes not logged one by one)",
                            (name, backend.unlogged),
                        )
                    )
                    backend.recovered, backend.unlogged = True, 0
                continue
            if backend.summarized_at is not None and now - backend.summarized_at < self._interval:
                continue
            example = next(iter(backend.owners.items()))
            lines.append(
                (
                    "backend %s: %d objects failing (%d changes not logged one by one), e.g. %s: %s",
                    (name, len(backend.owners), backend.unlogged, *example),
                )
            )
            backend.summarized_at, backend.unlogged, backend.recovered = now, 0, False
        return lines

    def blamed(self, owner: str) -> set[str]:
        """The backends ``owner`` fails on now."""
        with self._lock:
            return {name for name, backend in self._backends.items() if owner in backend.owners}


FAILURES = FailureLog(logging.getLogger("vaultsync.failures"))
"""The operator's one failure log (the sync loop reports every sync's status to it)."""


API_SERVER = "kubernetes-api"
"""The backend name of the API server itself, for failures to write status."""


def status_not_written(owner: str, error: Exception, logger: logging.Logger | Any) -> None:
    """A status PATCH failed (API server outage): log it once per outage, not once per attempt."""
    message = str(kube_error(error, "status PATCH"))  # short, no response body
    # It still fails on what its sync blamed: moving it away would flap that backend's summary.
    if FAILURES.observe(owner, ("StatusNotWritten",), message, {API_SERVER, *FAILURES.blamed(owner)}):
        logger.warning("status not written, retrying: %s", message)


def observe_sync(owner: str, status: Mapping[str, Any], source: str | None) -> bool:
    """Report a sync's resulting ``status``; True when its lines are worth logging.

    The state is the phase and the reasons of the false conditions (messages can change on
    every attempt, e.g. a target count); the summary quotes the ``Ready`` message.
    """
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    state = (
        str(status.get("phase")),
        *sorted(f"{c.get('type')}={c.get('reason')}" for c in conditions if c.get("status") == "False"),
    )
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
    return FAILURES.observe(owner, state, str(ready.get("message") or ""), failing_backends(status, source))
