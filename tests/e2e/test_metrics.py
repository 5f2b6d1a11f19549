"""The operator's Prometheus endpoint reports syncs, phases, expiry and backend calls."""

from __future__ import annotations

import urllib.request
import uuid

import hvac
import pytest

from e2e.conftest import METRICS_PORT
from e2e.support import Cluster, wait_for
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack


def _scrape() -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _value(text: str, prefix: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_after_a_sync(cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao) -> None:
    path = f"e2e/{cluster.namespace}/metrics"
    hvac.Client(url=openbao.address, token=openbao.root_token).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"apiKey": "k-" + uuid.uuid4().hex}
    )
    cluster.create(
        "managedsecrets",
        "m",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "bao"}, "path": path},
            "kubernetesSecrets": [{"name": "m"}],
            "expiresAt": "2099-01-01T00:00:00Z",
        },
    )
    wait_for(
        lambda: (cluster.get("managedsecrets", "m").get("status") or {}).get("phase") == "Synced",
        60,
        "Synced",
    )
    text = wait_for(
        lambda: next((t for t in [_scrape()] if 'vaultsync_managedsecrets{phase="Synced"}' in t), None), 30
    )
    assert _value(text, 'vaultsync_syncs_total{backend="hashicorp",result="ok"}') >= 1
    assert _value(text, "vaultsync_sync_duration_seconds_count") >= 1
    assert _value(text, 'vaultsync_managedsecrets{phase="Synced"}') >= 1
    assert _value(text, "vaultsync_seconds_until_earliest_expiry") > 0
    assert 'vaultsync_backend_calls_total{backend="hashicorp"' in text
