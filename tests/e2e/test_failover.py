"""Two operator replicas with leader election on a Lease: one syncs, the other waits; when the
leader is SIGKILLed the standby takes the Lease and syncs, without a restart of anything else.

The failover time is printed (``-s``) for docs/performance.md; the test asserts the facts, not
the time: who holds the Lease, which replica synced (from each replica's own counters), and
that a change made after the kill reaches its target.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from e2e.operator_fixtures import OPERATOR_NAMESPACE
from e2e.scenario import bao_write, phase_is, unique_value
from e2e.support import Cluster, openbao_provider, wait_for
from vaultsync.cli_status import scrape
from vaultsync_devstack import Stack
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, current_run, free_port
from vaultsync_devstack.vaults import OpenBao

pytestmark = [pytest.mark.stack]

SECRETS = 4


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _leading(port: int) -> bool:
    try:
        return scrape(_metrics(port))[0].get("vaultsync_leader") == 1.0
    except OSError:
        return False


def _syncs(port: int) -> float:
    total = 0.0
    for line in _metrics(port).splitlines():
        if line.startswith("vaultsync_syncs_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _holder(kube: KubeControlPlane, lease_name: str) -> str | None:
    try:
        lease = client.CoordinationV1Api(kube.api_client()).read_namespaced_lease(
            lease_name, OPERATOR_NAMESPACE
        )
    except client.ApiException:
        return None
    return lease.spec.holder_identity or None


@pytest.fixture(scope="module")
def webhooks() -> None:
    """No webhook configurations in this module (the conftest's would point at the stopped
    session operator): resources are created with the author record the webhook would write."""


@pytest.fixture
def replicas(
    stack: Stack, kube: KubeControlPlane, operator: ManagedProcess, session_operator_paused: None
) -> Iterator[tuple[Cluster, dict[str, ManagedProcess], dict[str, int]]]:
    """Two replicas of one installation (the session operator's namespace and HMAC key, so the
    author records verify) on a Lease of their own, watching one namespace; the session
    operator, which watches every namespace, is stopped meanwhile."""
    home = f"ha-{uuid.uuid4().hex[:6]}"
    watched = f"e2e-ha-{uuid.uuid4().hex[:6]}"
    assert kube.kubectl("create", "namespace", watched).returncode == 0
    processes: dict[str, ManagedProcess] = {}
    ports: dict[str, int] = {}
    for name in ("a", "b"):
        ports[name] = free_port()
        log = stack.state / "operator" / "logs" / f"{home}-{name}.log"
        processes[name] = ManagedProcess(
            name=f"vaultsync-{home}-{name}",
            command=[sys.executable, "-m", "vaultsync", "run", "--standalone", "--namespace", watched],
            log_path=log,
            ready=lambda log=log: "vaultsync started" in current_run(Path(log)),
            env={
                "KUBECONFIG": str(kube.kubeconfig),
                "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
                "VAULTSYNC_LEASE_NAME": f"{home}-leader",
                "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
                "VAULTSYNC_HTTP_TIMEOUT": "3",
                "VAULTSYNC_METRICS_PORT": str(ports[name]),
                "VAULTSYNC_LEADER_ELECTION": "true",
                "VAULTSYNC_IDENTITY": name,
            },
            start_timeout=90,
        )
        stack.attached.append(processes[name])
        processes[name].start()
    try:
        yield Cluster(kube, watched), processes, ports
    finally:
        for process in processes.values():
            process.stop()


def test_the_standby_takes_over_after_the_leader_is_killed(
    replicas: tuple[Cluster, dict[str, ManagedProcess], dict[str, int]],
    kube: KubeControlPlane,
    openbao: OpenBao,
) -> None:
    cluster, processes, ports = replicas
    lease = processes["a"].env["VAULTSYNC_LEASE_NAME"] if processes["a"].env else ""
    cluster.secret("bao-token", {"token": openbao.root_token})
    cluster.create_authored("vaultprofiles", "bao", {"provider": openbao_provider(openbao)})
    paths = {f"ha{i}": f"e2e/{cluster.namespace}/ha{i}" for i in range(SECRETS)}
    for name, path in paths.items():
        bao_write(openbao, path, {"apiKey": unique_value(name)})
        cluster.create_authored(
            "managedsecrets",
            name,
            {
                "type": "api-key",
                "source": {"vaultProfile": {"name": "bao"}, "path": path},
                "kubernetesSecrets": [{"name": name}],
                "refreshInterval": "2s",
            },
        )
    for name in paths:
        wait_for(lambda name=name: phase_is(cluster, name, "Synced", 1), 120, f"{name} Synced")

    leader = _holder(kube, lease)
    assert leader in ("a", "b"), f"one replica holds the Lease: {leader}"
    standby = "b" if leader == "a" else "a"
    assert _leading(ports[leader])
    assert not _leading(ports[standby])
    assert _syncs(ports[leader]) >= SECRETS
    assert _syncs(ports[standby]) == 0, "a standby syncs nothing while the leader synced every secret"

    pid = processes[leader].pid
    assert pid is not None
    killed = time.monotonic()
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: _leading(ports[standby]), 90, "the standby leads")
    failover = time.monotonic() - killed
    assert _holder(kube, lease) == standby

    value = unique_value("after-failover")
    bao_write(openbao, paths["ha0"], {"apiKey": value})

    def propagated() -> bool:
        data = cluster.core.read_namespaced_secret("ha0", cluster.namespace).data or {}
        return base64.b64decode(data.get("apiKey", "")).decode() == value

    wait_for(propagated, 90, "a change after the failover reaches its target")
    propagation = time.monotonic() - killed
    wait_for(
        lambda: _syncs(ports[standby]) >= SECRETS,
        90,
        "the new leader syncs every secret (as after a restart)",
    )
    print(
        f"\nfailover: standby leads {failover:.1f}s after SIGKILL;"
        f" change propagated {propagation:.1f}s after it"
    )
    for name in paths:
        cluster.delete("managedsecrets", name)
    wait_for(
        lambda: all(cluster.gone("managedsecrets", name) for name in paths), 90, "the new leader deletes"
    )
