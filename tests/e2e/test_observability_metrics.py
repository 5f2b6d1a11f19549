"""Every metric the chart's alert rules and Grafana dashboard use exists on a live operator's
/metrics, after the operator has synced one ManagedSecret and failed another."""

from __future__ import annotations

import re
import urllib.request
import uuid
from pathlib import Path

import pytest

from e2e.conftest import METRICS_PORT
from e2e.scenario import bao_write
from e2e.support import Cluster, openbao_provider, wait_for
from vaultsync_devstack.process import ManagedProcess, free_port
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack

CHART = Path(__file__).resolve().parents[2] / "charts" / "vaultsync"
USERS = (CHART / "templates" / "prometheusrule.yaml", CHART / "dashboards" / "vaultsync.json")


def used_metric_names() -> set[str]:
    return {name for path in USERS for name in re.findall(r"\bvaultsync_[a-z_]+\b", path.read_text())}


def exposed_sample_names() -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and line[0] != "#"}


def test_every_metric_of_the_rules_and_dashboard_is_exposed(
    cluster: Cluster,
    vault_profiles: dict[str, str],
    openbao: OpenBao,
    operator: ManagedProcess,
    managed_secrets_removed: None,
) -> None:
    used = used_metric_names()
    assert {"vaultsync_leader", "vaultsync_queue_depth", "vaultsync_backend_up"} <= used
    path = f"e2e/{cluster.namespace}/observed"
    bao_write(openbao, path, {"username": "app", "password": "p-" + uuid.uuid4().hex})
    cluster.create(
        "managedsecrets",
        "observed",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": vault_profiles["bao"]}, "path": path},
            "syncTargets": [{"vaultProfile": {"name": vault_profiles["aws"]}, "path": path}],
        },
    )
    unreachable = openbao_provider(openbao)
    unreachable["hashicorp"]["address"] = f"http://127.0.0.1:{free_port()}"
    cluster.create("vaultprofiles", "down", {"provider": unreachable})
    cluster.create(
        "managedsecrets",
        "failing",
        {"type": "basic-auth", "source": {"vaultProfile": {"name": "down"}, "path": path}},
    )

    def phase(name: str) -> str | None:
        return (cluster.get("managedsecrets", name).get("status") or {}).get("phase")

    wait_for(lambda: phase("observed") == "Synced", 120, "the observed ManagedSecret Synced")
    wait_for(lambda: phase("failing") == "Failed", 120, "the failing ManagedSecret Failed")
    try:
        wait_for(lambda: not used - exposed_sample_names(), 30, "every used metric exposed")
    except AssertionError:
        assert used - exposed_sample_names() == set()
        raise
