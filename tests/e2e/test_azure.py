"""End to end with Azure Key Vault: the operator process against the Key Vault protocol server.

The operator's real backend (``ClientSecretCredential`` against the server's token endpoint,
the CA from the profile's ``caBundle``) syncs an Azure target, repairs drift on it, disables
and re-enables it with the ManagedSecret's state, soft-deletes it with the vault's retention
and restores it on recreation, and names the access-policy permission a profile lacks. These
run on the protocol server (Lowkey Vault has no token endpoint or access policies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from e2e.scenario import (
    assert_no_leak,
    bao_write,
    condition,
    phase_is,
    status_of,
    target_states,
    unique_value,
)
from e2e.support import Cluster, wait_for
from keyvault_server.server import PERMISSIONS
from keyvault_server.target import AzureVault
from vaultsync.secrets.formats import azure_name_for_path
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.azure, pytest.mark.usefixtures("managed_secrets_removed")]


def _azure_profile(
    cluster: Cluster, vault: AzureVault, name: str, permissions: tuple[str, ...] = PERMISSIONS
) -> None:
    """A VaultProfile ``name`` whose service principal has these secret permissions."""
    client_id = f"{cluster.namespace}-{name}"
    client_secret = vault.add_principal(client_id, permissions)
    cluster.secret(f"{name}-sp", vault.credentials(client_secret))
    cluster.create(
        "vaultprofiles", name, {"provider": {"azure": vault.profile_spec(client_id, f"{name}-sp")}}
    )


@pytest.fixture
def azure(cluster: Cluster, protocol_azure_vault: AzureVault, vault_profiles: dict[str, str]) -> AzureVault:
    """The ``bao`` and ``aws`` profiles of the suite plus ``azure`` with every secret permission."""
    _azure_profile(cluster, protocol_azure_vault, "azure")
    return protocol_azure_vault


def _spec(source: str, azure_path: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "basic-auth",
        "source": {"vaultProfile": {"name": "bao"}, "path": source},
        "syncTargets": [{"vaultProfile": {"name": "azure"}, "path": azure_path}],
        "refreshInterval": "2s",
        **extra,
    }


def _current(raw: SecretClient, path: str) -> tuple[dict[str, Any], str] | None:
    """(document, version) of the Azure copy, None while it is disabled."""
    try:
        secret = raw.get_secret(azure_name_for_path(path))
    except HttpResponseError as e:
        if e.status_code == 403:
            return None
        raise
    return json.loads(secret.value or "{}"), str(secret.properties.version)


def _messages(cluster: Cluster, name: str, reason: str) -> list[str]:
    """The messages of the ``reason`` Events of ``name``, once there is one (Events follow the work)."""
    return list(
        wait_for(
            lambda: [e.message or "" for e in cluster.events(name) if e.reason == reason],
            30,
            f"a {reason} Event on {name}",
        )
    )


@dataclass
class Synced:
    """A ManagedSecret ``name`` from OpenBao to the ``azure`` profile, at version 1."""

    azure_path: str
    password: str
    first: tuple[dict[str, Any], str]
    status: dict[str, Any]


def _synced(cluster: Cluster, openbao: OpenBao, raw: SecretClient, name: str, **extra: Any) -> Synced:
    password = unique_value(f"azure-{name}")
    source, azure_path = f"e2e/{cluster.namespace}/{name}", f"e2e/{cluster.namespace}/{name}-copy"
    bao_write(openbao, source, {"username": name, "password": password})
    cluster.create("managedsecrets", name, _spec(source, azure_path, **extra))
    status = wait_for(lambda: phase_is(cluster, name, "Synced", 1), 60, "Synced to Azure")
    first = _current(raw, azure_path)
    assert first is not None
    assert first[0] == {"username": name, "password": password}
    return Synced(azure_path, password, first, status)


def test_sync_to_azure_then_drift_on_the_azure_copy_is_repaired(
    cluster: Cluster, azure: AzureVault, openbao: OpenBao, operator: ManagedProcess
) -> None:
    raw = azure.raw_client()
    synced = _synced(cluster, openbao, raw, "db")
    azure_path, password = synced.azure_path, synced.password
    assert target_states(synced.status) == {f"{cluster.namespace}/azure:{azure_path}": "Synced"}
    props = raw.get_secret(azure_name_for_path(azure_path)).properties
    assert (props.tags or {}).get("vaultsync.io/owner") == f"{cluster.namespace}/db"

    raw.set_secret(azure_name_for_path(azure_path), json.dumps({"username": "db", "password": "tampered"}))
    repaired = wait_for(
        lambda: (found := _current(raw, azure_path)) and found[0]["password"] == password and found,
        60,
        "drift on the Azure copy repaired",
    )
    assert repaired[1] != synced.first[1], "the repair is a new Key Vault version"
    assert status_of(cluster, "db")["currentVersion"] == 1, "a drift repair is not a new vaultsync version"
    assert _messages(cluster, "db", "DriftCorrected")
    raw.close()
    assert_no_leak(cluster, operator, ["db"], [password])


def test_deactivate_disables_the_azure_copy_and_reactivate_enables_it(
    cluster: Cluster, azure: AzureVault, openbao: OpenBao, operator: ManagedProcess
) -> None:
    raw = azure.raw_client()
    synced = _synced(cluster, openbao, raw, "api")
    azure_path, password = synced.azure_path, synced.password

    cluster.patch("managedsecrets", "api", {"spec": {"state": "Inactive"}})
    status = wait_for(lambda: phase_is(cluster, "api", "Inactive"), 60, "phase Inactive")
    assert target_states(status) == {f"{cluster.namespace}/azure:{azure_path}": "Disabled"}
    assert _current(raw, azure_path) is None, "Key Vault refuses to read the disabled copy"
    versions = list(raw.list_properties_of_secret_versions(azure_name_for_path(azure_path)))
    assert [v.enabled for v in versions] == [False], "disabled in place, no new version"
    assert _messages(cluster, "api", "TargetDisabled")

    cluster.patch("managedsecrets", "api", {"spec": {"state": "Active"}})
    wait_for(lambda: phase_is(cluster, "api", "Synced"), 60, "Synced again")
    assert _current(raw, azure_path) == synced.first, "re-enabled: the same version and content"
    assert _messages(cluster, "api", "Reactivated")
    raw.close()
    assert_no_leak(cluster, operator, ["api"], [password])


def test_delete_keeps_the_vaults_retention_restores_on_recreate_and_not_after_the_purge(
    cluster: Cluster, azure: AzureVault, openbao: OpenBao, operator: ManagedProcess
) -> None:
    assert azure.server is not None
    raw = azure.raw_client()
    synced = _synced(cluster, openbao, raw, "app", deletionPolicy="Delete")
    azure_path, password, first = synced.azure_path, synced.password, synced.first
    name = azure_name_for_path(azure_path)
    spec = _spec(f"e2e/{cluster.namespace}/app", azure_path, deletionPolicy="Delete")

    cluster.delete("managedsecrets", "app")
    wait_for(lambda: cluster.gone("managedsecrets", "app"), 60, "ManagedSecret deleted")
    deleted = raw.get_deleted_secret(name)
    assert deleted.scheduled_purge_date is not None
    assert deleted.deleted_date is not None
    window = deleted.scheduled_purge_date - deleted.deleted_date
    assert window.days == azure.server.vault.retention_days, "the vault's own retention, not the operator's"
    assert "soft-deleted 1 vault copies" in " ".join(_messages(cluster, "app", "Deleted"))

    cluster.create("managedsecrets", "app", spec)
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "recreated and synced")
    restored = _messages(cluster, "app", "Restored")
    assert any(azure_path in message for message in restored), restored
    assert _current(raw, azure_path) == first, "recovered, not rewritten"

    cluster.delete("managedsecrets", "app")
    wait_for(lambda: cluster.gone("managedsecrets", "app"), 60, "deleted again")
    azure.server.vault.end_retention(name)  # the vault purges the copy when its retention ends
    cluster.create("managedsecrets", "app", spec)
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "recreated after the purge")
    rewritten = _current(raw, azure_path)
    assert rewritten is not None
    assert rewritten[0] == first[0]
    assert rewritten[1] != first[1], "nothing to recover after the purge: written anew"
    raw.close()
    assert_no_leak(cluster, operator, ["app"], [password])


@pytest.mark.parametrize("lacking", ["get", "list", "set", "delete"])
def test_permission_diagnosis_names_the_missing_secret_permission(
    cluster: Cluster, protocol_azure_vault: AzureVault, operator: ManagedProcess, lacking: str
) -> None:
    name = f"azure-no-{lacking}"
    _azure_profile(cluster, protocol_azure_vault, name, tuple(p for p in PERMISSIONS if p != lacking))
    status = wait_for(lambda: _profile_status_with_permissions(cluster, name), 60, "permissions verified")
    assert status["permissions"]["missing"] == [f"secrets/{lacking}"]
    verified = condition(status, "PermissionsVerified")
    assert (verified["status"], verified["reason"]) == ("False", "MissingPermissions")
    assert f"secrets/{lacking}" in verified["message"]
    assert condition(status, "Ready")["status"] == "True"


def _profile_status_with_permissions(cluster: Cluster, name: str) -> dict[str, Any] | None:
    status: dict[str, Any] = cluster.get("vaultprofiles", name).get("status") or {}
    return status if "permissions" in status else None
