"""Failure logging in an outage: each object's change once, bounded per backend, one summary."""

from __future__ import annotations

import logging
import random

import pytest

from vaultsync.handlers.failure_log import BURST, FailureLog, RepeatedRetryNotes, failing_backends

FAILED = ("Failed", "SourceUnavailable")
SYNCED = ("Synced", "Synced")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _log(clock: Clock) -> tuple[FailureLog, list[tuple[float, str]]]:
    logger = logging.getLogger(f"test-failure-log-{random.random()}")
    lines: list[tuple[float, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append((clock.now, record.getMessage()))

    logger.addHandler(Collect())
    logger.propagate = False
    return FailureLog(logger, interval=60.0, clock=clock), lines


def test_one_object_is_logged_when_its_state_changes_only() -> None:
    log, _ = _log(Clock())
    assert log.observe("ns/a", FAILED, "bao unreachable", ["bao"])
    assert not log.observe("ns/a", FAILED, "bao unreachable", ["bao"])
    assert not log.observe("ns/a", FAILED, "bao unreachable", ["bao"])
    assert log.observe("ns/a", ("Failed", "SourceNotFound"), "missing", ["bao"])
    assert log.observe("ns/a", SYNCED, "", [])
    assert not log.observe("ns/a", SYNCED, "", [])
    assert log.failing() == {}


def test_an_outage_of_300_secrets_logs_at_most_about_ten_lines_a_minute() -> None:
    clock = Clock()
    log, lines = _log(clock)
    owners = [f"ns/s{i}" for i in range(300)]
    rng = random.Random(7)
    next_try = {o: rng.uniform(0, 5) for o in owners}
    attempt = dict.fromkeys(owners, 0)
    individually: list[tuple[float, str]] = []
    outage_end = 600.0
    while clock.now < outage_end + 400:
        owner = min(next_try, key=next_try.__getitem__)
        clock.now = next_try[owner]
        down = clock.now < outage_end
        if down:
            changed = log.observe(owner, FAILED, "reading source bao:x failed: unreachable", ["bao"])
            attempt[owner] += 1
            next_try[owner] = clock.now + rng.uniform(0, min(300, 2 * 2 ** attempt[owner]))
        else:
            changed = log.observe(owner, SYNCED, "", [])
            next_try[owner] = clock.now + 3600
        if changed:
            individually.append((clock.now, owner))
    assert log.failing() == {}
    summaries = [(moment, line) for moment, line in lines if line.startswith("backend bao")]
    assert summaries[-1][1].startswith("backend bao: no object fails on it any more")
    assert any("300 objects failing" in line for _, line in summaries)
    per_minute: dict[int, int] = {}
    for moment, _ in [*individually, *summaries]:
        per_minute[int(moment // 60)] = per_minute.get(int(moment // 60), 0) + 1
    assert len(per_minute) > 10, "the outage and the recovery span many minutes"
    assert max(per_minute.values()) <= BURST + 2, per_minute


def test_a_backend_whose_objects_come_and_go_is_summarized_at_most_twice_an_interval() -> None:
    """In an API server outage each sync fails on its target and then on its status write: the
    objects leave and rejoin a backend many times a second, which once logged two lines each time."""
    clock = Clock()
    log, lines = _log(clock)
    for step in range(600):
        clock.now = step * 0.1
        blamed = [] if step % 2 else ["kubernetes"]  # joins the backend, then leaves it
        log.observe(f"ns/s{(step // 2) % 30}", FAILED, "API server unreachable", blamed)
    summaries = [line for _, line in lines if line.startswith("backend kubernetes")]
    assert len(summaries) <= 2, summaries
    clock.now = 61.0
    log.observe("ns/s1", FAILED, "API server unreachable", ["kubernetes"])
    assert sum(line.startswith("backend kubernetes") for _, line in lines) <= 3


def test_a_status_that_cannot_be_written_keeps_the_backends_its_sync_blamed() -> None:
    log, _ = _log(Clock())
    log.observe("ns/a", FAILED, "Secret ns/a: API server unreachable", ["kubernetes"])
    assert log.blamed("ns/a") == {"kubernetes"}
    log.observe("ns/a", ("StatusNotWritten",), "status PATCH failed", {"kubernetes-api", *log.blamed("ns/a")})
    assert log.failing() == {"kubernetes": 1, "kubernetes-api": 1}


def test_a_failure_on_one_backend_does_not_use_anothers_budget() -> None:
    log, _ = _log(Clock())
    for i in range(BURST):
        assert log.observe(f"ns/a{i}", FAILED, "aws down", ["aws"])
    assert not log.observe("ns/over", FAILED, "aws down", ["aws"])
    assert log.observe("ns/b", FAILED, "bao down", ["bao"])
    assert log.failing() == {"aws": BURST + 1, "bao": 1}
    log.forget("ns/over")
    assert log.failing() == {"aws": BURST, "bao": 1}


@pytest.mark.parametrize(
    ("status", "source", "expected"),
    [
        ({"phase": "Synced", "targets": [{"state": "Synced", "vaultProfile": "ns/aws"}]}, "ns/bao", set()),
        (
            {"phase": "Failed", "targets": [{"state": "Failed", "vaultProfile": "ns/aws"}]},
            "ns/bao",
            {"ns/aws"},
        ),
        ({"phase": "Failed", "targets": [{"state": "Failed", "name": "x"}]}, "ns/bao", {"kubernetes"}),
        ({"phase": "Failed"}, "ns/bao", {"ns/bao"}),
        ({"phase": "Failed"}, None, {"unknown"}),
    ],
)
def test_the_blamed_backends_of_a_status(
    status: dict[str, object], source: str | None, expected: set[str]
) -> None:
    assert failing_backends(status, source) == expected


def test_a_status_that_cannot_be_written_is_logged_once_per_outage() -> None:
    from vaultsync.backends.kube_http import KubeStatusError  # noqa: PLC0415
    from vaultsync.handlers.failure_log import API_SERVER, FAILURES, status_not_written  # noqa: PLC0415

    lines: list[str] = []

    class Logger:
        def warning(self, message: str, *args: object) -> None:
            lines.append(message % args)

    for _ in range(5):
        status_not_written("VaultProfile ns/bao-test", KubeStatusError(503, "x"), Logger())
    assert lines == ["status not written, retrying: status PATCH: API server failed (HTTP 503)"]
    failing = FAILURES.failing()[API_SERVER]
    FAILURES.forget("VaultProfile ns/bao-test")
    assert FAILURES.failing().get(API_SERVER, 0) == failing - 1


def test_urllib3_retry_notes_are_dropped_and_other_warnings_kept(caplog: pytest.LogCaptureFixture) -> None:
    import socket  # noqa: PLC0415

    import urllib3  # noqa: PLC0415

    from vaultsync.handlers.failure_log import quiet_transport_retries  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool_logger = logging.getLogger("urllib3.connectionpool")

    def retries_logged() -> int:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="urllib3"), pytest.raises(urllib3.exceptions.HTTPError):
            urllib3.PoolManager(retries=urllib3.Retry(2, backoff_factor=0)).request(
                "GET", f"http://127.0.0.1:{port}/"
            )
        return sum(1 for r in caplog.records if r.getMessage().startswith("Retrying ("))

    saved = list(pool_logger.filters)
    try:
        assert retries_logged() == 2, "urllib3 notes every retry"
        quiet_transport_retries()
        quiet_transport_retries()
        assert retries_logged() == 0
        pool_logger.warning("Connection pool is full, discarding connection: %s", "h")
        assert [r.getMessage() for r in caplog.records] == [
            "Connection pool is full, discarding connection: h"
        ]
    finally:
        pool_logger.filters[:] = saved


def _kopf_record(message: str) -> logging.LogRecord:
    return logging.LogRecord("kopf._core.engines.posting", logging.ERROR, __file__, 1, message, None, None)


def test_kopf_retry_lines_pass_once_per_request_kind_and_interval_with_a_count() -> None:
    clock = Clock()
    limiter = RepeatedRetryNotes(interval=60.0, clock=clock)
    post = "POST https://127.0.0.1:6443/api/v1/namespaces/{ns}/events"
    error = " -> ClientConnectorError(ConnectionRefusedError(111, 'Connect call failed'))"
    passed = []
    for attempt in range(1, 500):
        clock.now = attempt * 0.1
        for namespace in ("a", "b"):
            record = _kopf_record(
                f"Request attempt #{attempt}/9 failed; will retry: {post.format(ns=namespace)}{error}"
            )
            if limiter.filter(record):
                passed.append(record.getMessage())
    assert len(passed) == 2, "one line per namespace's event posts in the first minute"
    clock.now = 61.0
    record = _kopf_record(f"Request attempt #1/9 failed; will retry: {post.format(ns='a')}?x=1{error}")
    assert limiter.filter(record)
    assert record.getMessage().endswith("(498 similar lines not logged)")
    assert limiter.filter(_kopf_record("Handler 'x' failed temporarily: boom")), "other lines always pass"
    assert limiter.filter(_kopf_record("Failed to post an event. Ignoring and continuing."))
    assert not limiter.filter(_kopf_record("Failed to post an event. Ignoring and continuing."))
