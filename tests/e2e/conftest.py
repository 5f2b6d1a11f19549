"""The operator as a real process against the real stack, plus helpers to drive resources."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.scenario import bao_provider
from e2e.support import Cluster, wait_for
from vaultsync.devstack import Stack
from vaultsync.devstack.kube import KubeControlPlane
from vaultsync.devstack.process import ManagedProcess, free_port, port_open
from vaultsync.devstack.vaults import Moto, OpenBao
from vaultsync.devstack.webhook import WebhookServing, serve_webhooks, unregister_webhooks

REPO = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "vaultsync-system"
METRICS_PORT = free_port()
GROUP = "vaultsync.io"


@pytest.fixture(scope="session")
def crds(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    assert applied.returncode == 0, applied.stderr
    for plural in ("vaultprofiles", "managedsecrets", "approvalrequests"):
        kube.wait_established(f"{plural}.{GROUP}")


@pytest.fixture(scope="session")
def webhooks(stack: Stack, kube: KubeControlPlane, crds: None) -> Iterator[WebhookServing]:
    """The operator's admission webhooks, registered against the local apiserver with their own CA.

    They stay registered until the session ends (the ApprovalRequest ones fail closed), which is
    why the end-to-end suite runs last (``testpaths`` in pyproject.toml).
    """
    yield serve_webhooks(kube, stack.state)
    unregister_webhooks(kube)


@pytest.fixture(scope="session")
def operator(
    stack: Stack, kube: KubeControlPlane, crds: None, webhooks: WebhookServing
) -> Iterator[ManagedProcess]:
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    log = stack.state / "operator" / "logs" / "operator.log"
    process = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in log.read_text(errors="replace") and port_open(webhooks.port),
        env={
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
            "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
            "VAULTSYNC_HTTP_TIMEOUT": "3",
            "VAULTSYNC_METRICS_PORT": str(METRICS_PORT),
            **webhooks.env,
        },
        start_timeout=60,
    )
    stack.attached.append(process)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def cluster(kube: KubeControlPlane, operator: ManagedProcess) -> Cluster:
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    return Cluster(kube, namespace)


@pytest.fixture
def vault_profiles(cluster: Cluster, openbao: OpenBao, moto: Moto) -> dict[str, str]:
    """An OpenBao profile ``bao`` and an AWS profile ``aws`` in the test namespace."""
    cluster.secret("bao-token", {"token": openbao.root_token})
    cluster.secret("aws-keys", {"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key})
    cluster.create("vaultprofiles", "bao", {"provider": bao_provider(openbao)})
    cluster.create(
        "vaultprofiles",
        "aws",
        {
            "provider": {
                "aws": {
                    "region": moto.region,
                    "endpoint": moto.endpoint,
                    "auth": {"accessKey": {"secretRef": {"name": "aws-keys"}}},
                }
            }
        },
    )
    return {"bao": "bao", "aws": "aws"}


@pytest.fixture
def managed_secrets_removed(cluster: Cluster) -> Iterator[None]:
    """Deletes the test's ManagedSecrets afterwards, so no daemon of an earlier test keeps working.

    Later tests measure the apiserver's request counters, which are cluster-wide.
    """

    def names() -> list[str]:
        listed = cluster.custom.list_namespaced_custom_object(
            GROUP, "v1alpha1", cluster.namespace, "managedsecrets"
        )
        return [item["metadata"]["name"] for item in listed["items"]]

    yield
    for name in names():
        cluster.delete("managedsecrets", name)
    wait_for(lambda: not names(), 60, "ManagedSecrets of the test deleted")
