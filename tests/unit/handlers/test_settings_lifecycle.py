"""The retention window and the expiry horizon come from the environment the chart sets."""

from __future__ import annotations

import pytest

from vaultsync.sync.settings import OperatorSettings


@pytest.mark.parametrize(
    ("env", "retention_days", "warning_days"),
    [
        pytest.param({}, 30, 14.0, id="defaults"),
        pytest.param({"VAULTSYNC_RETENTION_DAYS": "7"}, 7, 14.0, id="retention"),
        pytest.param({"VAULTSYNC_EXPIRY_WARNING_DAYS": "0.5"}, 30, 0.5, id="horizon-in-fractional-days"),
    ],
)
def test_lifecycle_settings_from_env(env: dict[str, str], retention_days: int, warning_days: float) -> None:
    settings = OperatorSettings.from_env(env)
    assert (settings.retention_days, settings.expiry_warning_days) == (retention_days, warning_days)
