"""The operator as a real process against the real stack, plus helpers to drive resources."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.support import Cluster, wait_for
from vaultsync.devstack import Stack
from vaultsync.devstack.kube import KubeControlPlane
from vaultsync.devstack.process import ManagedProcess, free_port, port_open
from vaultsync.devstack.vaults import Moto, OpenBao
from vaultsync.devstack.webhook import (
    WebhookServing,
    issue_serving_certificate,
    register_webhooks,
    unregister_webhooks,
)

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
def webhook_serving(stack: Stack, crds: None) -> WebhookServing:
    """Where the operator serves its admission webhooks, with a CA of their own."""
    return issue_serving_certificate(stack.state / "operator" / "webhook-tls", free_port())


def registered(kube: KubeControlPlane, serving: WebhookServing) -> Iterator[WebhookServing]:
    """The webhook configurations, registered for one module at a time and removed after it.

    The ApprovalRequest webhooks fail closed, so they must not outlive the modules that run the
    operator: any suite may run before, between or after these (the docs suite registers them
    the same way), and none of them sees a webhook it did not ask for.
    """
    register_webhooks(kube, serving)
    yield serving
    unregister_webhooks(kube)


@pytest.fixture(scope="module", autouse=True)
def webhooks(kube: KubeControlPlane, webhook_serving: WebhookServing) -> Iterator[WebhookServing]:
    yield from registered(kube, webhook_serving)


@pytest.fixture(scope="session")
def operator(
    stack: Stack, kube: KubeControlPlane, crds: None, webhook_serving: WebhookServing
) -> Iterator[ManagedProcess]:
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    log = stack.state / "operator" / "logs" / "operator.log"
    process = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: (
            "vaultsync started" in log.read_text(errors="replace") and port_open(webhook_serving.port)
        ),
        env={
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
            "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
            "VAULTSYNC_HTTP_TIMEOUT": "3",
            "VAULTSYNC_METRICS_PORT": str(METRICS_PORT),
            **webhook_serving.env,
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
    cluster.create(
        "vaultprofiles",
        "bao",
        {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "mount": "secret",
                    "kvVersion": 2,
                    "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
                }
            }
        },
    )
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


@pytest.fixture
def people(cluster: Cluster) -> Cluster:
    """RBAC of the test namespace for alice, bob, carol and dave (``e2e.approval_people``):
    everyone may edit ManagedSecrets and decide; approval policy and the webhook do the rest."""
    from e2e.approval_people import grant_people  # noqa: PLC0415 - only the approval suites need it

    return grant_people(cluster)
