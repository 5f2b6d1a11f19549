"""The chaos tier: a real operator process, real servers, and a loopback proxy in front of each vault.

Each test gets its own namespace and its own operator process, which watches only that
namespace, so this one never touches another suite's secrets; the session operator of the
end-to-end suite, which watches every namespace, is stopped while the chaos tests run. The
operator reaches OpenBao and moto through :class:`TcpProxy`, so a test can cut a vault off
while the test itself still reads and writes the real server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e.scenario import bao, secrets_manager
from e2e.support import Cluster, wait_for
from faultproxy import TcpProxy
from vaultsync_devstack import Stack
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, free_port
from vaultsync_devstack.vaults import Moto, OpenBao

REPO = Path(__file__).resolve().parents[2]
GROUP = "vaultsync.io"
OPERATOR_NAMESPACE = "vaultsync-system"
RECOVERY_BOUND = 240.0
"""Generous: the suite runs on loaded machines; docs/performance.md has the measured numbers."""
AWS_LABELS = {"AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"}


@pytest.fixture(scope="session")
def chaos_crds(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    assert applied.returncode == 0, applied.stderr
    for plural in ("vaultprofiles", "managedsecrets", "approvalrequests"):
        kube.wait_established(f"{plural}.{GROUP}")
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)


@dataclass
class Chaos:
    """One test's world: namespace, proxies, operator, and what each secret must hold."""

    cluster: Cluster
    openbao: OpenBao
    moto: Moto
    bao_proxy: TcpProxy
    aws_proxy: TcpProxy
    operator: ManagedProcess
    expected: dict[str, str] = field(default_factory=dict)
    """ManagedSecret name -> the value its source holds now."""
    changes: dict[str, int] = field(default_factory=dict)
    """ManagedSecret name -> how many contents it has had (its expected currentVersion)."""

    @property
    def ns(self) -> str:
        return self.cluster.namespace

    def source_path(self, name: str) -> str:
        return f"chaos/{self.ns}/{name}"

    def aws_path(self, name: str) -> str:
        return f"chaos/{self.ns}/{name}-copy"

    def set_source(self, name: str, value: str | None = None, *, new_version: bool = True) -> str:
        value = value or uuid.uuid4().hex
        bao(self.openbao).secrets.kv.v2.create_or_update_secret(
            path=self.source_path(name), secret={"apiKey": value}
        )
        self.expected[name] = value
        if new_version:
            self.changes[name] = self.changes.get(name, 0) + 1
        return value

    def create_secrets(self, count: int, refresh: str = "5s") -> list[str]:
        names = [f"s{i}" for i in range(count)]
        for name in names:
            self.set_source(name)
            self.cluster.create(
                "managedsecrets",
                name,
                {
                    "type": "api-key",
                    "source": {"vaultProfile": {"name": "bao"}, "path": self.source_path(name)},
                    "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": self.aws_path(name)}],
                    "kubernetesSecrets": [{"name": name}],
                    "refreshInterval": refresh,
                },
            )
        return names

    def kill(self) -> None:
        """SIGKILL: no cleanup, no status flush, exactly like an OOM kill or a node loss."""
        pid = self.operator.pid
        assert pid is not None
        assert self.operator.running
        os.killpg(pid, signal.SIGKILL)
        self.operator.stop()

    def aws_versions(self, name: str) -> dict[str, list[str]]:
        described = secrets_manager(self.moto).describe_secret(SecretId=self.aws_path(name))
        return {v: list(s) for v, s in described["VersionIdsToStages"].items()}

    def aws_contents(self, name: str) -> list[str]:
        """The value of every version of the AWS copy, oldest first."""
        client = secrets_manager(self.moto)
        values = []
        for version in self.aws_versions(name):
            text = client.get_secret_value(SecretId=self.aws_path(name), VersionId=version)["SecretString"]
            values.append(json.loads(text)["apiKey"])
        return values

    def converged(self, name: str) -> bool:
        status = self.cluster.get("managedsecrets", name).get("status") or {}
        if status.get("phase") != "Synced" or status.get("currentVersion") != self.changes[name]:
            return False
        data = self.cluster.core.read_namespaced_secret(name, self.ns).data or {}
        if base64.b64decode(data.get("apiKey", "")).decode() != self.expected[name]:
            return False
        return self.aws_current(name) == self.expected[name]

    def aws_current(self, name: str) -> str:
        """The AWSCURRENT value. By version id: moto's GetSecretValue without one returns the
        version its last plain put made current, even after a stage move (real AWS does not)."""
        current = [v for v, stages in self.aws_versions(name).items() if "AWSCURRENT" in stages][-1]
        text = secrets_manager(self.moto).get_secret_value(SecretId=self.aws_path(name), VersionId=current)
        return str(json.loads(text["SecretString"])["apiKey"])

    def wait_converged(self, names: list[str], timeout: float = RECOVERY_BOUND, what: str = "") -> None:
        wait_for(
            lambda: all(self.converged(n) for n in names), timeout, f"every secret converged {what}".strip()
        )

    def assert_exact(self, names: list[str], written: dict[str, set[str]] | None = None) -> None:
        """Exact content everywhere, one version per change, no stray label, no traceback."""
        for name in names:
            assert self.converged(name), name
            status = self.cluster.get("managedsecrets", name)["status"]
            assert status["currentVersion"] == self.changes[name], "exactly one new version per change"
            labels = {label for stages in self.aws_versions(name).values() for label in stages}
            assert labels - AWS_LABELS == set(), f"stray staging label on {name}: {labels}"
            current = [v for v, s in self.aws_versions(name).items() if "AWSCURRENT" in s]
            assert len(current) >= 1
            if written is not None:
                assert set(self.aws_contents(name)) <= written[name], "only written contents reach AWS"
        log = self.operator.log_path.read_text(errors="replace")
        assert "Traceback" not in log, "a sync ended in a traceback"


def _operator(stack: Stack, kube: KubeControlPlane, namespace: str) -> ManagedProcess:
    log = stack.state / "chaos" / f"operator-{namespace}.log"
    return ManagedProcess(
        name=f"vaultsync-operator-{namespace}",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in log.read_text(errors="replace"),
        env={
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
            "VAULTSYNC_WATCH_NAMESPACES": namespace,
            "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
            "VAULTSYNC_HTTP_TIMEOUT": "3",
            "VAULTSYNC_METRICS_PORT": str(free_port()),
        },
        start_timeout=90,
    )


def _profiles(
    cluster: Cluster, openbao: OpenBao, moto: Moto, bao_proxy: TcpProxy, aws_proxy: TcpProxy
) -> None:
    cluster.secret("bao-token", {"token": openbao.root_token})
    cluster.secret("aws-keys", {"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key})
    bao_spec: dict[str, Any] = {
        "address": f"http://{bao_proxy.url_host}",
        "mount": "secret",
        "kvVersion": 2,
        "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
    }
    cluster.create_authored("vaultprofiles", "bao", {"provider": {"hashicorp": bao_spec}})
    aws_spec = {
        "region": moto.region,
        "endpoint": f"http://{aws_proxy.url_host}",
        "auth": {"accessKey": {"secretRef": {"name": "aws-keys"}}},
    }
    cluster.create_authored("vaultprofiles", "aws", {"provider": {"aws": aws_spec}})


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


@pytest.fixture(autouse=True)
def alone(session_operator_paused: None) -> None:
    """No operator but the test's own watches its namespace."""


@pytest.fixture
def chaos(
    stack: Stack, kube: KubeControlPlane, openbao: OpenBao, moto: Moto, chaos_crds: None
) -> Iterator[Chaos]:
    namespace = f"chaos-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    cluster = Cluster(kube, namespace)
    bao_proxy, aws_proxy = TcpProxy(_port(openbao.address)), TcpProxy(_port(moto.endpoint))
    _profiles(cluster, openbao, moto, bao_proxy, aws_proxy)
    operator = _operator(stack, kube, namespace)
    stack.attached.append(operator)
    operator.start()
    try:
        yield Chaos(cluster, openbao, moto, bao_proxy, aws_proxy, operator)
    finally:
        operator.stop()
        stack.attached.remove(operator)
        bao_proxy.close()
        aws_proxy.close()
        kube.kubectl("delete", "namespace", namespace, "--wait=false")
