"""The webhook handler ids are a contract with the Helm chart and the local stack registration."""

from __future__ import annotations

import re
from pathlib import Path

import kopf
import pytest

from vaultsync.handlers import webhook
from vaultsync_devstack.webhook import WebhookServing, configurations, issue_serving_certificate

REPO = Path(__file__).resolve().parents[3]


def handler_ids() -> set[str]:
    return {str(h.id) for h in kopf.get_default_registry()._webhooks.get_all_handlers()}


def test_chart_paths_are_handler_ids() -> None:
    helpers = (REPO / "charts/vaultsync/templates/_helpers.tpl").read_text()
    paths = set(re.findall(r'WebhookPath" -}}/([a-z-]+)\{\{', helpers))
    assert paths == {"validate-approvalrequest", "mutate-approvalrequest"}
    assert paths <= handler_ids()
    assert webhook.stamp_decision_identity is not None


@pytest.fixture
def serving(tmp_path: Path) -> WebhookServing:
    return issue_serving_certificate(tmp_path / "tls", 18443)


def test_local_registration_points_every_webhook_at_a_handler(serving: WebhookServing) -> None:
    hooks = [h for config in configurations(serving) for h in config["webhooks"]]
    paths = {h["clientConfig"]["url"].rsplit("/", 1)[1] for h in hooks}
    assert paths == handler_ids()
    assert all(h["clientConfig"]["url"].startswith("https://127.0.0.1:18443/") for h in hooks)
    policies = {h["name"]: h["failurePolicy"] for h in hooks}
    assert policies == {
        "mutate.approvalrequests.vaultsync.io": "Fail",
        "validate.approvalrequests.vaultsync.io": "Fail",
        "mutate.managedsecrets.vaultsync.io": "Ignore",
        "author.managedsecrets.vaultsync.io": "Ignore",
        "author.vaultprofiles.vaultsync.io": "Ignore",
        "validate.managedsecrets.vaultsync.io": "Ignore",
        "validate.vaultprofiles.vaultsync.io": "Ignore",
    }
    assert (serving.cert_dir / "tls.crt").exists()
    assert (serving.cert_dir / "tls.key").exists()
    down = [h for config in configurations(serving, port=1) for h in config["webhooks"]]
    assert all(":1/" in h["clientConfig"]["url"] for h in down)


@pytest.mark.parametrize(
    ("env", "insecure", "port"),
    [
        ({}, True, None),
        ({"VAULTSYNC_WEBHOOK_PORT": "9555"}, True, 9555),
        ({"VAULTSYNC_WEBHOOK_CERT_DIR": "/etc/tls"}, False, 9443),
        ({"VAULTSYNC_WEBHOOK_CERT_DIR": "/etc/tls", "VAULTSYNC_WEBHOOK_PORT": "8443"}, False, 8443),
    ],
    ids=["nothing-set-loopback-http", "port-only", "chart-default-port", "chart-port"],
)
def test_webhook_server_from_env(env: dict[str, str], insecure: bool, port: int | None) -> None:
    server = webhook.webhook_server(env)
    assert (server.insecure, server.port) == (insecure, port)
    if insecure:
        assert server.addr == "127.0.0.1"
    else:
        assert server.certfile == "/etc/tls/tls.crt"
