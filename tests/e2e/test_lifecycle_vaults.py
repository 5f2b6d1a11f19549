"""End to end: the lifecycle of a secret in its vaults.

Deletion with a recovery window and restore on recreate, environments, organisation profiles
shared by namespace label, generation and rotation, expiry warnings, and the .env import and
export commands. Everything runs against the real apiserver, OpenBao and moto.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from e2e.scenario import (
    assert_no_leak,
    aws_document,
    bao,
    bao_read,
    bao_write,
    phase_is,
    secret_exists,
    secrets_manager,
    status_of,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync.devstack.process import ManagedProcess
from vaultsync.devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]

HOLD = "e2e.vaultsync.io/hold"
"""A finalizer of the test's own: keeps a deleted ManagedSecret visible after the operator is done."""


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _reasons(cluster: Cluster, name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in cluster.events(name):
        found.setdefault(event.reason, []).append(event.message or "")
    return found


def _bao_metadata(openbao: OpenBao, path: str) -> dict[str, Any]:
    metadata: dict[str, Any] = bao(openbao).secrets.kv.v2.read_secret_metadata(path=path)["data"]
    return metadata


def _retained(source: str, aws_path: str, bao_path: str, secret: str) -> dict[str, Any]:
    return {
        "type": "basic-auth",
        "source": {"vaultProfile": {"name": "bao"}, "path": source},
        "syncTargets": [
            {"vaultProfile": {"name": "aws"}, "path": aws_path},
            {"vaultProfile": {"name": "bao"}, "path": bao_path},
        ],
        "kubernetesSecrets": [{"name": secret}],
        "deletionPolicy": "Delete",
    }


def test_delete_keeps_a_recovery_window_and_recreating_restores(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    password = unique_value("retention")
    source, aws_path, bao_path = f"e2e/{ns}/app", f"e2e/{ns}/app-aws", f"e2e/{ns}/app-copy"
    bao_write(openbao, source, {"username": "app", "password": password})
    spec = _retained(source, aws_path, bao_path, "app")
    cluster.create("managedsecrets", "app", spec)
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "first sync")
    aws_version = secrets_manager(moto).describe_secret(SecretId=aws_path)["VersionIdsToStages"]

    cluster.patch("managedsecrets", "app", {"metadata": {"finalizers": [HOLD, "vaultsync.io/finalizer"]}})
    requested = dt.datetime.now(dt.UTC)
    cluster.delete("managedsecrets", "app")
    status = wait_for(
        lambda: "Deleted" in _reasons(cluster, "app") and status_of(cluster, "app"), 60, "Deleted event"
    )
    assert status["phase"] == "Deleting"
    deleted_at, until = _time(status["deletedAt"]), _time(status["restorableUntil"])
    assert requested - dt.timedelta(seconds=5) <= deleted_at <= requested + dt.timedelta(seconds=60)
    assert dt.timedelta(days=29) < until - deleted_at <= dt.timedelta(days=30, seconds=60)
    message = _reasons(cluster, "app")["Deleted"][0]
    assert "soft-deleted 2 vault copies, restorable until" in message
    assert f"removed permanently: Secret {ns}/app" in message

    aws_deleted = secrets_manager(moto).describe_secret(SecretId=aws_path)
    assert aws_deleted.get("DeletedDate"), "AWS keeps the copy in its recovery window"
    marks = _bao_metadata(openbao, bao_path)["custom_metadata"]
    assert _time(marks["vaultsync.io/restorable-until"]) == until
    assert not secret_exists(cluster, "app"), "Kubernetes Secrets have no soft delete"
    cluster.patch("managedsecrets", "app", {"metadata": {"finalizers": None}})
    wait_for(lambda: cluster.gone("managedsecrets", "app"), 60, "ManagedSecret gone")

    cluster.create("managedsecrets", "app", spec)
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "recreated and synced")
    restored = _reasons(cluster, "app").get("Restored", [])
    assert any(aws_path in m for m in restored), restored
    assert any(bao_path in m for m in restored), restored
    aws_now = secrets_manager(moto).describe_secret(SecretId=aws_path)
    assert "DeletedDate" not in aws_now
    assert aws_now["VersionIdsToStages"] == aws_version, "restored, not rewritten"
    assert aws_document(moto, aws_path)["password"] == password
    assert bao_read(openbao, bao_path)["data"]["password"] == password
    assert "vaultsync.io/restorable-until" not in (_bao_metadata(openbao, bao_path)["custom_metadata"] or {})
    assert cluster.secret_data("app") == {"username": "app", "password": password}
    assert_no_leak(cluster, operator, ["app"], [password])


def test_a_soft_deleted_copy_of_another_owner_is_neither_restored_nor_overwritten(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source, aws_path, bao_path = f"e2e/{ns}/one", f"e2e/{ns}/one-aws", f"e2e/{ns}/one-copy"
    bao_write(openbao, source, {"username": "one", "password": unique_value("one")})
    cluster.create("managedsecrets", "first", _retained(source, aws_path, bao_path, "first"))
    wait_for(lambda: phase_is(cluster, "first", "Synced", 1), 60, "first synced")
    cluster.delete("managedsecrets", "first")
    wait_for(lambda: cluster.gone("managedsecrets", "first"), 60, "first deleted")

    cluster.create("managedsecrets", "second", _retained(source, aws_path, bao_path, "second"))
    status = wait_for(lambda: phase_is(cluster, "second", "Failed"), 60, "second refused")
    messages = " ".join(t.get("message") or "" for t in status["targets"])
    assert f"managed by {ns}/first" in messages
    assert "Restored" not in _reasons(cluster, "second")
    assert secrets_manager(moto).describe_secret(SecretId=aws_path).get("DeletedDate")
    assert _bao_metadata(openbao, bao_path)["custom_metadata"]["vaultsync.io/owner"] == f"{ns}/first"
