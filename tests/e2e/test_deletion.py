"""End to end: what deleting a ManagedSecret does to its copies, and what is never vaultsync's.

``Retain`` leaves every copy; ``Delete`` removes Kubernetes Secrets and soft-deletes vault
copies. A Secret vaultsync did not create is neither overwritten nor deleted, unless the
spec adopts it.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from kubernetes import client

from e2e.scenario import (
    assert_no_leak,
    aws_document,
    bao_write,
    phase_is,
    secret_exists,
    secrets_manager,
    target_states,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]


def _managed(source_path: str, aws_path: str, secret_name: str, policy: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "basic-auth",
        "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
        "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
        "kubernetesSecrets": [{"name": secret_name}],
        "deletionPolicy": policy,
        **extra,
    }


def test_retain_keeps_copies_and_delete_removes_them(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    password = unique_value("deletion")
    source_path = f"e2e/{ns}/app"
    bao_write(openbao, source_path, {"username": "app", "password": password})
    paths = {policy: f"e2e/{ns}/{policy.lower()}-copy" for policy in ("Retain", "Delete")}
    for policy, aws_path in paths.items():
        cluster.create(
            "managedsecrets", policy.lower(), _managed(source_path, aws_path, policy.lower(), policy)
        )
    for name in ("retain", "delete"):
        wait_for(functools.partial(phase_is, cluster, name, "Synced", 1), 60, f"{name} Synced")
    assert_no_leak(cluster, operator, ["retain", "delete"], [password])

    for policy in paths:
        cluster.delete("managedsecrets", policy.lower())
    for name in ("retain", "delete"):
        wait_for(functools.partial(cluster.gone, "managedsecrets", name), 60, f"{name} deleted")

    assert cluster.secret_data("retain") == {"username": "app", "password": password}
    kept = secrets_manager(moto).describe_secret(SecretId=paths["Retain"])
    assert "DeletedDate" not in kept
    assert aws_document(moto, paths["Retain"])["password"] == password

    assert not secret_exists(cluster, "delete")
    removed = secrets_manager(moto).describe_secret(SecretId=paths["Delete"])
    assert removed.get("DeletedDate"), "the AWS copy is soft-deleted (recoverable), not purged"


def test_unowned_secret_is_never_touched_unless_adopted(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    password, theirs = unique_value("adopt"), unique_value("theirs")
    source_path, aws_path = f"e2e/{ns}/shared", f"e2e/{ns}/shared-copy"
    bao_write(openbao, source_path, {"username": "app", "password": password})
    # Same type as vaultsync would write: a Secret's type cannot change in place, and adopting
    # one of another type is refused with "delete it first" (not what this test is about).
    cluster.core.create_namespaced_secret(
        ns,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="shared"),
            type="kubernetes.io/basic-auth",
            string_data={"username": "someone", "password": theirs},
        ),
    )
    before = cluster.core.read_namespaced_secret("shared", ns)

    cluster.create("managedsecrets", "intruder", _managed(source_path, aws_path, "shared", "Delete"))
    status = wait_for(lambda: phase_is(cluster, "intruder", "Failed"), 60, "Failed on an unowned Secret")
    assert target_states(status) == {f"{ns}/aws:{aws_path}": "Synced", f"{ns}/shared": "Failed"}
    message = next(t["message"] for t in status["targets"] if t.get("name") == "shared")
    assert "not managed by" in message, message
    assert "adopt" in message, message
    assert f"Secret {ns}/shared" in next(c for c in status["conditions"] if c["type"] == "Ready")["message"]

    cluster.delete("managedsecrets", "intruder")
    wait_for(lambda: cluster.gone("managedsecrets", "intruder"), 60, "intruder deleted")
    after = cluster.core.read_namespaced_secret("shared", ns)
    assert after.metadata.resource_version == before.metadata.resource_version, (
        "the unowned Secret is untouched"
    )
    assert cluster.secret_data("shared") == {"username": "someone", "password": theirs}
    assert secrets_manager(moto).describe_secret(SecretId=aws_path).get("DeletedDate"), "its own copy went"

    cluster.create(
        "managedsecrets", "adopter", _managed(source_path, f"{aws_path}-2", "shared", "Retain", adopt=True)
    )
    wait_for(lambda: phase_is(cluster, "adopter", "Synced", 1), 60, "adopter Synced")
    assert cluster.secret_data("shared") == {"username": "app", "password": password}
    adopted = cluster.core.read_namespaced_secret("shared", ns).metadata
    assert adopted.annotations.get("vaultsync.io/owner") == f"{ns}/adopter"
    assert_no_leak(cluster, operator, ["intruder", "adopter"], [password, theirs])


def test_unowned_secret_with_the_same_content_is_not_claimed(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    password = unique_value("same")
    source_path = f"e2e/{ns}/same"
    bao_write(openbao, source_path, {"username": "app", "password": password})
    cluster.core.create_namespaced_secret(
        ns,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="same"),
            type="kubernetes.io/basic-auth",
            string_data={"username": "app", "password": password},
        ),
    )
    cluster.create(
        "managedsecrets",
        "claimer",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "kubernetesSecrets": [{"name": "same"}],
        },
    )
    status = wait_for(lambda: phase_is(cluster, "claimer", "Failed"), 30, "Failed: the Secret is not ours")
    assert target_states(status) == {f"{ns}/same": "Failed"}
    assert "not managed by" in status["targets"][0]["message"]
    annotations = cluster.core.read_namespaced_secret("same", ns).metadata.annotations or {}
    assert "vaultsync.io/owner" not in annotations

    cluster.patch("managedsecrets", "claimer", {"spec": {"adopt": True}})
    wait_for(lambda: phase_is(cluster, "claimer", "Synced", 1), 30, "Synced once adopted")
    annotations = cluster.core.read_namespaced_secret("same", ns).metadata.annotations or {}
    assert annotations.get("vaultsync.io/owner") == f"{ns}/claimer", "adopting puts the ownership marks on"
    assert_no_leak(cluster, operator, ["claimer"], [password])
