"""Security settings from the environment: allowances, review cache, release wait, listen addresses."""

from __future__ import annotations

import pytest

from vaultsync.handlers import webhook
from vaultsync.reconcile.boundary import Boundary
from vaultsync.sync.settings import OperatorSettings


def test_defaults_listen_on_all_interfaces_and_allow_no_crossing() -> None:
    settings = OperatorSettings.from_env({})
    assert (settings.metrics_address, settings.webhook_address) == ("0.0.0.0", "0.0.0.0")  # noqa: S104
    assert settings.boundary == Boundary("vaultsync-system", frozenset())
    assert settings.access_review_seconds == 60.0
    assert settings.orphan_release_seconds == 300.0
    assert settings.rejected_delete_retry_seconds == 30.0


def test_security_settings_from_env() -> None:
    settings = OperatorSettings.from_env(
        {
            "VAULTSYNC_NAMESPACE": "ops",
            "VAULTSYNC_CROSS_NAMESPACE_TARGETS": "team-a=shared,team-b=shared",
            "VAULTSYNC_ACCESS_REVIEW_SECONDS": "5",
            "VAULTSYNC_ORPHAN_RELEASE_SECONDS": "15",
            "VAULTSYNC_REJECTED_DELETE_RETRY_SECONDS": "3",
            "VAULTSYNC_METRICS_ADDRESS": "127.0.0.1",
            "VAULTSYNC_WATCH_NAMESPACES": "team-a, team-b",
        }
    )
    assert settings.boundary == Boundary("ops", frozenset({("team-a", "shared"), ("team-b", "shared")}))
    assert (settings.access_review_seconds, settings.orphan_release_seconds) == (5.0, 15.0)
    assert settings.rejected_delete_retry_seconds == 3.0
    assert settings.metrics_address == "127.0.0.1"
    assert settings.watch_namespaces == ("team-a", "team-b")


def test_a_malformed_allowance_stops_the_operator_with_its_text() -> None:
    with pytest.raises(ValueError, match="'team-a' is not <namespace>=<namespace>"):
        OperatorSettings.from_env({"VAULTSYNC_CROSS_NAMESPACE_TARGETS": "team-a"})


def test_webhook_address_is_a_setting() -> None:
    server = webhook.webhook_server(
        {"VAULTSYNC_WEBHOOK_CERT_DIR": "/etc/tls", "VAULTSYNC_WEBHOOK_ADDRESS": "10.0.0.5"}
    )
    assert server.addr == "10.0.0.5"
    assert webhook.webhook_server({"VAULTSYNC_WEBHOOK_CERT_DIR": "/etc/tls"}).addr == "0.0.0.0"  # noqa: S104
