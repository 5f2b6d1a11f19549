"""Credentials are references: rotating the referenced Secret is picked up without a restart,
and a profile whose credentials are wrong says so in its conditions."""

from __future__ import annotations

import uuid

import hvac
import pytest

from e2e.support import Cluster, wait_for
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack


def _ready(cluster: Cluster, name: str) -> dict[str, str]:
    conditions = (cluster.get("vaultprofiles", name).get("status") or {}).get("conditions") or []
    return {c["type"]: c["status"] for c in conditions}


def test_rotated_token_is_used_without_restart(cluster: Cluster, openbao: OpenBao) -> None:
    root = hvac.Client(url=openbao.address, token=openbao.root_token)
    root.sys.create_or_update_policy(
        name="e2e-rw", policy='path "secret/*" { capabilities = ["create","read","update","delete","list"] }'
    )
    token = root.auth.token.create(policies=["e2e-rw"], ttl="1h")["auth"]["client_token"]
    cluster.secret("bao-token", {"token": "not-a-valid-token"})
    cluster.create(
        "vaultprofiles",
        "bao",
        {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
                }
            }
        },
    )
    wait_for(lambda: _ready(cluster, "bao").get("Ready") == "False", 30, "profile not Ready with a bad token")
    path = f"e2e/{cluster.namespace}/rotated"
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"token": "t-" + uuid.uuid4().hex})
    cluster.create(
        "managedsecrets",
        "rotated",
        {
            "type": "bearer-token",
            "source": {"vaultProfile": {"name": "bao"}, "path": path},
            "kubernetesSecrets": [{"name": "rotated"}],
            "refreshInterval": "1h",
        },
    )
    wait_for(
        lambda: (cluster.get("managedsecrets", "rotated").get("status") or {}).get("phase") == "Failed", 30
    )
    cluster.core.patch_namespaced_secret("bao-token", cluster.namespace, {"stringData": {"token": token}})
    wait_for(lambda: _ready(cluster, "bao").get("Ready") == "True", 30, "profile Ready after the rotation")
    wait_for(
        lambda: (cluster.get("managedsecrets", "rotated").get("status") or {}).get("phase") == "Synced",
        30,
        "the secret syncs with the new token, without waiting for its 1h refresh",
    )
    assert token not in str(cluster.get("vaultprofiles", "bao"))
