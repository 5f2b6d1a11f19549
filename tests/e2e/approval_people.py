"""Approval scenarios' shared moves: the people of the test stack, gated profiles, decisions.

Users of the local apiserver (client certificates): alice (vaultsync:developers) edits
ManagedSecrets, bob and carol (vaultsync:security) approve, dave (no group) is an outsider
with the same RBAC as the approvers, so only the admission webhook can stop him.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from kubernetes import client

from e2e.scenario import status_of
from e2e.support import GROUP, VERSION, Cluster
from vaultsync.cli_approvals import DecisionRefused, add_decision
from vaultsync_devstack.vaults import OpenBao

PROFILE = "gated"
SECURITY = "vaultsync:security"
BASIC_AUTH = "basic-auth"


def grant_people(cluster: Cluster) -> Cluster:
    """RBAC of the test namespace: everyone may edit ManagedSecrets and decide; policy does the rest."""
    rbac = client.RbacAuthorizationV1Api(cluster.kube.api_client())
    rules = [
        client.V1PolicyRule(
            api_groups=[GROUP],
            resources=["managedsecrets", "approvalrequests", "vaultprofiles"],
            verbs=["get", "list", "watch", "create", "update", "patch", "delete"],
        )
    ]
    rbac.create_namespaced_role(
        cluster.namespace, client.V1Role(metadata={"name": "e2e-people"}, rules=rules)
    )
    subjects = [
        client.RbacV1Subject(kind="User", name=user, api_group="rbac.authorization.k8s.io")
        for user in ("alice", "bob", "carol", "dave")
    ]
    rbac.create_namespaced_role_binding(
        cluster.namespace,
        client.V1RoleBinding(
            metadata={"name": "e2e-people"},
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="e2e-people"),
            subjects=subjects,
        ),
    )
    return cluster


def gated_profile(cluster: Cluster, openbao: OpenBao, approval: dict[str, Any], name: str = PROFILE) -> None:
    cluster.create(
        "vaultprofiles",
        name,
        {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "mount": "secret",
                    "kvVersion": 2,
                    "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
                }
            },
            "approval": approval,
        },
    )


def as_user(cluster: Cluster, user: str) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.kube.api_client(user))


def create_secret_as(
    cluster: Cluster, user: str, name: str, path: str, *, profile: str = PROFILE, kind: str = BASIC_AUTH
) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ManagedSecret",
        "metadata": {"name": name},
        "spec": {
            "type": kind,
            "source": {"vaultProfile": {"name": profile}, "path": path},
            "kubernetesSecrets": [{"name": f"{name}-k8s"}],
            "refreshInterval": "2s",
            "deletionPolicy": "Delete",
        },
    }
    as_user(cluster, user).create_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "managedsecrets", body
    )


def vaultsync_cli(cluster: Cluster, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``vaultsync`` command with ``user``'s kubeconfig."""
    env = {**os.environ, "KUBECONFIG": str(cluster.kube.kubeconfig_for(user))}
    return subprocess.run(
        [sys.executable, "-m", "vaultsync", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def decide(cluster: Cluster, user: str, name: str, decision: str, comment: str | None = None) -> None:
    add_decision(cluster.kube.api_client(user), cluster.namespace, name, decision, comment)


def refused(cluster: Cluster, user: str, name: str, decision: str) -> str:
    with pytest.raises(DecisionRefused) as caught:
        decide(cluster, user, name, decision, "e2e")
    return str(caught.value)


def request(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.get("approvalrequests", name)


def pending_request(
    cluster: Cluster, secret: str, operation: str, other_than: str | None = None
) -> str | None:
    status = status_of(cluster, secret)
    name = status.get("approvalRequest")
    if status.get("phase") != "PendingApproval" or not name or name == other_than:
        return None
    return str(name) if request(cluster, name)["spec"]["operation"] == operation else None


def request_phase(cluster: Cluster, name: str, phase: str) -> dict[str, Any] | None:
    found = request(cluster, name)
    return found if (found.get("status") or {}).get("phase") == phase else None


def password(cluster: Cluster, secret: str) -> str:
    return cluster.secret_data(f"{secret}-k8s")["password"]
