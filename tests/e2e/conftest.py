"""Helpers to drive resources against the operator of ``e2e.operator_fixtures`` (a plugin of the
root conftest, shared with the docs suite), and the webhook registration of each e2e module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from e2e.operator_fixtures import GROUP, METRICS_PORT, OPERATOR_NAMESPACE, REPO, registered
from e2e.support import Cluster, openbao_provider, wait_for
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao
from vaultsync_devstack.webhook import WebhookServing

__all__ = ["GROUP", "METRICS_PORT", "OPERATOR_NAMESPACE", "REPO"]


@pytest.fixture(scope="module", autouse=True)
def webhooks(kube: KubeControlPlane, webhook_serving: WebhookServing) -> Iterator[WebhookServing]:
    yield from registered(kube, webhook_serving)


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
        {"provider": openbao_provider(openbao)},
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
