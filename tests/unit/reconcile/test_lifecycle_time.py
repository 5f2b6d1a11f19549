"""Rotation clocks, expiry conditions and the time-only syncs they cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from typed_spec import typed_spec
from vaultsync.reconcile.expiry import ExpiryReason, apply_expiry, expiry_state, seconds_until_expiry_change
from vaultsync.reconcile.lifecycle import seconds_until_lifecycle_sync
from vaultsync.reconcile.rotation import generated_document, parse_time, rotation_baseline, rotation_due

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HORIZON = timedelta(days=14)
DAY = timedelta(days=1)


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("status", "source_written_at", "expected"),
    [
        pytest.param({}, None, None, id="nothing-known"),
        pytest.param({"lastRotatedAt": _z(NOW - DAY)}, None, NOW - DAY, id="last-rotation"),
        pytest.param(
            {"lastRotatedAt": _z(NOW - 3 * DAY), "versions": [{"createdAt": _z(NOW - DAY)}]},
            None,
            NOW - DAY,
            id="newer-version-restarts-the-clock",
        ),
        pytest.param({"lastRotatedAt": _z(NOW - 3 * DAY)}, NOW - 2 * DAY, NOW - 2 * DAY, id="hand-rotation"),
        pytest.param({"lastRotatedAt": "garbage"}, None, None, id="unreadable-time-ignored"),
    ],
)
def test_rotation_baseline(status: dict[str, Any], source_written_at: datetime | None, expected: Any) -> None:
    assert rotation_baseline(status, source_written_at) == expected


@pytest.mark.parametrize(
    ("interval", "baseline", "due"),
    [
        pytest.param(None, NOW - 100 * DAY, False, id="no-interval-never"),
        pytest.param(DAY, None, False, id="no-baseline-never"),
        pytest.param(DAY, NOW - DAY, True, id="exactly-due"),
        pytest.param(DAY, NOW - DAY + timedelta(seconds=1), False, id="one-second-early"),
        pytest.param(timedelta(0), NOW - DAY, False, id="zero-interval-never"),
    ],
)
def test_rotation_due(interval: timedelta | None, baseline: datetime | None, due: bool) -> None:
    assert rotation_due(interval, baseline, NOW) is due


@pytest.mark.parametrize(
    ("secret_type", "generated", "existing", "expected"),
    [
        pytest.param(
            "basic-auth", {"password": "p"}, None, {"username": "app", "password": "p"}, id="new-basic"
        ),
        pytest.param(
            "basic-auth",
            {"password": "p2"},
            {"username": "svc", "password": "p1"},
            {"username": "svc", "password": "p2"},
            id="rotation-keeps-username",
        ),
        pytest.param(
            "api-key",
            {"apiKey": "k2"},
            {"apiKey": "k1", "headerName": "X-Key"},
            {"apiKey": "k2", "headerName": "X-Key"},
            id="keeps-header",
        ),
        pytest.param(
            "secret-key", {"secretKey": "a2V5"}, None, {"secretKey": "a2V5"}, id="no-username-elsewhere"
        ),
    ],
)
def test_generated_document(
    secret_type: str, generated: dict[str, str], existing: dict[str, str] | None, expected: dict[str, str]
) -> None:
    assert generated_document(secret_type, generated, existing, default_username="app") == expected


@pytest.mark.parametrize(
    ("expires_at", "status", "reason"),
    [
        pytest.param(None, "False", ExpiryReason.NO_EXPIRY, id="none"),
        pytest.param(NOW + 30 * DAY, "False", ExpiryReason.NOT_EXPIRING_SOON, id="far"),
        pytest.param(NOW + HORIZON, "True", ExpiryReason.EXPIRING_SOON, id="at-horizon"),
        pytest.param(NOW + DAY, "True", ExpiryReason.EXPIRING_SOON, id="soon"),
        pytest.param(NOW, "True", ExpiryReason.EXPIRED, id="now"),
        pytest.param(NOW - DAY, "True", ExpiryReason.EXPIRED, id="past"),
    ],
)
def test_expiry_state(expires_at: datetime | None, status: str, reason: ExpiryReason) -> None:
    state = expiry_state(expires_at, NOW, HORIZON)
    assert (state.status, state.reason) == (status, reason)


@pytest.mark.parametrize(
    ("content", "spec", "expected_at", "warned"),
    [
        pytest.param(None, None, None, False, id="no-expiry"),
        pytest.param(_z(NOW + 60 * DAY), _z(NOW + 5 * DAY), _z(NOW + 5 * DAY), True, id="spec-earlier-wins"),
        pytest.param(
            _z(NOW + 5 * DAY), _z(NOW + 60 * DAY), _z(NOW + 5 * DAY), True, id="content-earlier-wins"
        ),
        pytest.param(None, _z(NOW + 60 * DAY), _z(NOW + 60 * DAY), False, id="far-no-warning"),
    ],
)
def test_apply_expiry(content: str | None, spec: str | None, expected_at: str | None, warned: bool) -> None:
    status = {"expiresAt": content} if content else {}
    result, warning = apply_expiry(status, parse_time(spec), NOW, HORIZON)
    assert result.get("expiresAt") == expected_at
    assert (warning is not None) is warned
    again, second_warning = apply_expiry(result, parse_time(spec), NOW + timedelta(minutes=1), HORIZON)
    assert second_warning is None, "one warning per transition, not per sync"
    assert again["conditions"] == result["conditions"], "a steady state changes nothing"


def test_expiry_warns_again_when_it_expires() -> None:
    expires = _z(NOW + DAY)
    soon, first = apply_expiry({"expiresAt": expires}, None, NOW, HORIZON)
    expired, second = apply_expiry(soon, None, NOW + 2 * DAY, HORIZON)
    assert first is not None
    assert second == f"the content expired at {expires}"
    assert expired["conditions"][0]["reason"] == "Expired"


def test_lifecycle_sync_needed_when_the_condition_is_stale() -> None:
    status, _ = apply_expiry({"expiresAt": _z(NOW + 20 * DAY)}, None, NOW, HORIZON)
    assert seconds_until_lifecycle_sync(status, typed_spec(), NOW, HORIZON) == (6 * DAY).total_seconds()
    assert seconds_until_lifecycle_sync(status, typed_spec(), NOW + 7 * DAY, HORIZON) == 0


def test_lifecycle_sync_for_rotation() -> None:
    spec = typed_spec(generate={"kind": "password", "rotationInterval": "1h"})
    status, _ = apply_expiry({"lastRotatedAt": _z(NOW)}, None, NOW, HORIZON)
    assert seconds_until_lifecycle_sync(status, spec, NOW, HORIZON) == 3600
    assert seconds_until_lifecycle_sync(status, typed_spec(), NOW, HORIZON) is None


def test_a_due_rotation_does_not_wake_a_secret_waiting_for_approval() -> None:
    spec = typed_spec(generate={"kind": "password", "rotationInterval": "1h"})
    status, _ = apply_expiry({"lastRotatedAt": _z(NOW - 2 * DAY)}, None, NOW, HORIZON)
    assert seconds_until_lifecycle_sync(status, spec, NOW, HORIZON) == -2 * DAY.total_seconds() + 3600
    waiting = {**status, "phase": "PendingApproval"}
    assert seconds_until_lifecycle_sync(waiting, spec, NOW, HORIZON) is None


@given(
    st.integers(min_value=-400, max_value=400).map(lambda d: NOW + timedelta(hours=d)),
    st.integers(min_value=0, max_value=400).map(lambda h: timedelta(hours=h)),
)
def test_the_condition_only_changes_at_the_announced_moment(expires_at: datetime, elapsed: timedelta) -> None:
    change = seconds_until_expiry_change(expires_at, NOW, HORIZON)
    later = NOW + elapsed
    if change is None or elapsed.total_seconds() < change:
        assert expiry_state(expires_at, later, HORIZON) == expiry_state(expires_at, NOW, HORIZON)
