"""End to end: a ManagedSecret pushes its OpenBao source to AWS and Kubernetes Secrets."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import hvac
import pytest

from e2e.scenario import posted
from e2e.support import Cluster, as_json, operator_log, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = pytest.mark.stack

PASSWORD_V1 = "e2e-pass-" + uuid.uuid4().hex
PASSWORD_V2 = "e2e-pass-" + uuid.uuid4().hex


def _bao(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.address, token=openbao.root_token, timeout=5)


def _sm(moto: Moto) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=moto.endpoint,
        region_name=moto.region,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
    )


def _status(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.get("managedsecrets", name).get("status") or {}


def _phase_is(cluster: Cluster, name: str, phase: str, version: int | None = None) -> dict[str, Any] | None:
    status = _status(cluster, name)
    if status.get("phase") != phase:
        return None
    if version is not None and status.get("currentVersion") != version:
        return None
    return status


def test_sync_to_aws_and_kubernetes_then_update_and_drift(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    source_path = f"e2e/{cluster.namespace}/db"
    aws_path = f"e2e/{cluster.namespace}/db-copy"
    _bao(openbao).secrets.kv.v2.create_or_update_secret(
        path=source_path, secret={"username": "app", "password": PASSWORD_V1}
    )
    other_ns = cluster.namespace
    cluster.create(
        "managedsecrets",
        "db",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "kubernetesSecrets": [
                {"name": "db-basic"},
                {"name": "db-copy", "namespace": other_ns, "labels": {"team": "a"}},
            ],
            "refreshInterval": "2s",
            "deletionPolicy": "Delete",
        },
    )
    status = wait_for(lambda: _phase_is(cluster, "db", "Synced", 1), 60, "version 1 Synced")
    assert status["fingerprint"].startswith("hmac-sha256:")
    assert [t["state"] for t in status["targets"]] == ["Synced"] * 3
    assert status["versions"][0]["version"] == 1
    assert cluster.secret_data("db-basic") == {"username": "app", "password": PASSWORD_V1}
    assert (
        json.loads(_sm(moto).get_secret_value(SecretId=aws_path, VersionStage="AWSCURRENT")["SecretString"])[
            "password"
        ]
        == PASSWORD_V1
    )

    _bao(openbao).secrets.kv.v2.create_or_update_secret(
        path=source_path, secret={"username": "app", "password": PASSWORD_V2}
    )
    wait_for(lambda: _phase_is(cluster, "db", "Synced", 2), 60, "version 2 Synced")
    assert cluster.secret_data("db-copy")["password"] == PASSWORD_V2
    assert (
        json.loads(_sm(moto).get_secret_value(SecretId=aws_path, VersionStage="AWSCURRENT")["SecretString"])[
            "password"
        ]
        == PASSWORD_V2
    )

    cluster.core.patch_namespaced_secret(
        "db-basic", cluster.namespace, {"stringData": {"password": "tampered"}}
    )
    wait_for(lambda: cluster.secret_data("db-basic")["password"] == PASSWORD_V2, 60, "drift corrected")
    assert _status(cluster, "db")["currentVersion"] == 2, "drift repair is not a new version"
    posted(cluster, "db", "DriftCorrected")
    posted(cluster, "db", "Synced")

    everything = (
        operator_log(operator)
        + as_json(_status(cluster, "db"))
        + as_json([e.message for e in cluster.events("db")])
    )
    for value in (PASSWORD_V1, PASSWORD_V2):
        assert value not in everything, "a secret value leaked into the log, status or events"

    cluster.delete("managedsecrets", "db")
    wait_for(lambda: cluster.gone("managedsecrets", "db"), 60, "ManagedSecret deleted")
    with pytest.raises(Exception, match=r"Not Found|NotFound|404"):
        cluster.secret_data("db-basic")
