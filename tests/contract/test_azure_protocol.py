"""Azure cases that need the Key Vault protocol server of tests/keyvault_server (Lowkey Vault has no
access policies, token endpoint or fault switches): the challenge and token flow, permission
diagnosis per access-policy permission, throttling, transient and lasting 409s, the value and
name limits, TLS, and that every SDK call of the backend is exercised."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import vaultsync.backends.azure as azure_module
from keyvault_server.server import PERMISSIONS
from keyvault_server.target import AzureVault, protocol_vault
from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.errors import Conflict, InvalidConfig, NotFound, PermissionDenied, Throttled
from vaultsync.backends.interface import Credentials
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync.backends.retry import RetryPolicy
from vaultsync.secrets.formats import azure_name_for_path, to_azure_value

pytestmark = [pytest.mark.stack, pytest.mark.azure]

OWNER = "team-a/app"
SDK_OPERATIONS = {
    "get_secret": "GetSecret",
    "list_properties_of_secret_versions": "GetSecretVersions",
    "list_properties_of_secrets": "GetSecrets",
    "set_secret": "SetSecret",
    "update_secret_properties": "UpdateSecret",
    "begin_delete_secret": "DeleteSecret",
    "get_deleted_secret": "GetDeletedSecret",
    "begin_recover_deleted_secret": "RecoverDeletedSecret",
    "purge_deleted_secret": "PurgeDeletedSecret",
}
"""Each ``SecretClient`` method the backend calls, and the REST operation it sends."""


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[AzureVault]:
    """A vault of this test alone, for counting what the server saw."""
    vault = protocol_vault(tmp_path, "this test")
    yield vault
    assert vault.server is not None
    vault.server.stop()


@pytest.fixture
def vault(protocol_azure_vault: AzureVault) -> AzureVault:
    return protocol_azure_vault


def _path(name: str) -> str:
    return f"azp-{uuid.uuid4().hex[:8]}/{name}"


def _principal(vault: AzureVault, permissions: tuple[str, ...]) -> AzureBackend:
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    return vault.backend(client_id, vault.add_principal(client_id, permissions))


def test_challenge_then_client_secret_token(fresh: AzureVault) -> None:
    assert fresh.server is not None
    backend = fresh.backend()
    path = _path("token")
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert backend.read(path).document == {"value": "v"}
    assert fresh.server.challenges >= 1  # the unauthenticated first call was challenged
    assert fresh.server.directory.issued == 1  # one token from the endpoint, then cached
    backend.close()


def test_refused_client_secret_is_an_authentication_failure(vault: AzureVault) -> None:
    backend = vault.backend(client_secret="not-the-secret")
    with pytest.raises(PermissionDenied) as denied:
        backend.read(_path("x"))
    assert denied.value.missing == []
    assert "not-the-secret" not in str(denied.value)
    with pytest.raises(PermissionDenied):
        backend.verify_permissions("team")  # not a report of all permissions granted
    backend.close()


def test_without_the_ca_bundle_tls_is_refused(vault: AzureVault) -> None:
    spec = {**vault.profile_spec()}
    spec.pop("caBundle")
    backend = create_backend(
        "azure",
        spec,
        Credentials({"clientSecret": vault.client_secret}),
        context=BackendContext(http_timeout=2),
    )
    with pytest.raises(InvalidConfig, match="TLS"):
        backend.read(_path("x"))
    backend.close()


def test_a_closed_backend_leaves_the_ca_bundle_to_its_replacement(vault: AzureVault) -> None:
    """The operator replaces a profile's backend while a daemon may still be calling the old one."""
    replaced, replacement = vault.backend(), vault.backend()
    replaced.close()
    for backend in (replacement, replaced):  # the replaced one is still finishing a call
        with pytest.raises(NotFound):
            backend.read(_path("after-close"))
    replacement.close()


def test_challenge_resource_verification_refuses_a_foreign_resource(vault: AzureVault) -> None:
    spec = {**vault.profile_spec(), "disableChallengeResourceVerification": False}
    data = vault.credentials()
    backend = create_backend(
        "azure",
        spec,
        Credentials({"clientSecret": data["clientSecret"], "caBundle": data["ca.crt"]}),
        context=BackendContext(http_timeout=2),
    )
    with pytest.raises(InvalidConfig, match="challenge"):
        backend.read(_path("x"))
    backend.close()


@pytest.mark.parametrize("lacking", PERMISSIONS)
def test_permission_diagnosis_names_the_missing_permission(vault: AzureVault, lacking: str) -> None:
    backend = _principal(vault, tuple(p for p in PERMISSIONS if p != lacking))
    report = backend.verify_permissions("team")
    assert report.missing == [f"secrets/{lacking}"]
    backend.close()


def test_denied_operations_name_the_permission_key_vault_refused(vault: AzureVault) -> None:
    path = _path("denied")
    reader = _principal(vault, ("get", "list"))
    with pytest.raises(PermissionDenied) as denied:
        reader.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert denied.value.missing == ["secrets/set"]
    blind = _principal(vault, ("set", "list"))
    with pytest.raises(PermissionDenied) as denied:
        blind.read(path)
    assert denied.value.missing == ["secrets/get"]
    reader.close()
    blind.close()


def test_throttling_is_retried_after_the_servers_delay(fresh: AzureVault) -> None:
    assert fresh.server is not None
    backend = fresh.backend()
    path = _path("throttled")
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    before = fresh.server.operations["GetSecret"]
    fresh.server.throttle(2, retry_after=1, operation="GetSecret")
    assert backend.read(path).document == {"value": "v"}
    assert fresh.server.operations["GetSecret"] - before == 3

    fresh.server.throttle(10, retry_after=1, operation="GetSecret")
    impatient = AzureBackend(backend._client, retry=RetryPolicy(attempts=2, max_delay=1))
    with pytest.raises(Throttled) as throttled:
        impatient.read(path)
    assert throttled.value.retry_after == 1.0
    backend.close()


def test_a_throttled_listing_page_restarts_the_listing(fresh: AzureVault) -> None:
    assert fresh.server is not None
    backend = fresh.backend()
    paths = [_path(f"page-{i:02d}") for i in range(30)]
    for path in paths:
        backend.write(path, "generic", {"value": path}, owner=OWNER, expected_version=None)
    fresh.server.throttle(1, retry_after=0, operation="GetSecrets", after=1)  # the second page
    assert backend.list_changes(None, paths).changed == frozenset(paths)
    assert backend.calls.snapshot()["list"] == 4  # page 1, throttled page 2, then pages 1 and 2 again
    assert fresh.server.next_links_followed == 2
    backend.close()


def test_a_deleted_but_recoverable_name_conflicts_until_restored(vault: AzureVault) -> None:
    backend = vault.backend()
    path = _path("recoverable")
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    backend.delete(path, owner=OWNER)
    with pytest.raises(Conflict, match="ObjectIsDeletedButRecoverable"):
        backend.write(path, "generic", {"value": "w"}, owner=OWNER, expected_version=None)
    backend.restore(path, owner=OWNER)
    backend.write(path, "generic", {"value": "w"}, owner=OWNER, expected_version=None)
    assert backend.read(path).document == {"value": "w"}
    backend.close()


def test_recreating_right_after_a_purge_waits_for_the_purge(fresh: AzureVault) -> None:
    assert fresh.server is not None
    fresh.server.vault.transition = 1.5
    backend = fresh.backend()
    path = _path("purged")
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    backend.delete(path, owner=OWNER, recovery_days=0)
    before = fresh.server.operations["SetSecret"]
    backend.write(path, "generic", {"value": "w"}, owner=OWNER, expected_version=None)
    assert fresh.server.operations["SetSecret"] - before >= 2  # refused while being deleted, then done
    assert backend.read(path).document == {"value": "w"}
    backend.close()


def test_the_current_version_of_a_disabled_secret_among_versions_of_one_second(fresh: AzureVault) -> None:
    """Key Vault's ``created`` has whole seconds: the backend must not pick an older version."""
    assert fresh.server is not None
    fresh.server.vault.clock = lambda: 1_800_000_000.0
    backend = fresh.backend()
    path = _path("same-second")
    backend.write(path, "generic", {"value": "1"}, owner=OWNER, expected_version=None)
    backend.set_enabled(path, False, owner=OWNER)
    for value in "2345":
        latest = backend.write(path, "generic", {"value": value}, owner=OWNER, expected_version=None)
    backend.set_enabled(path, True, owner=OWNER)
    remote = backend.read(path)
    assert (remote.document, remote.version) == ({"value": "5"}, latest)
    backend.close()


def test_value_limit_is_25600_bytes(vault: AzureVault) -> None:
    backend = vault.backend()
    overhead = len(to_azure_value("generic", {"value": ""})[0].encode())
    fits = {"value": "x" * (25_600 - overhead)}
    path = _path("big")
    backend.write(path, "generic", fits, owner=OWNER, expected_version=None)
    assert backend.read(path).document == fits
    with pytest.raises(InvalidConfig):
        backend.write(
            _path("too-big"),
            "generic",
            {"value": "x" * (25_601 - overhead)},
            owner=OWNER,
            expected_version=None,
        )
    backend.close()


def test_the_server_enforces_the_secret_name_rules(vault: AzureVault) -> None:
    raw = vault.raw_client()
    for bad in ("under_score", "x" * 128):
        with pytest.raises(HttpResponseError) as refused:
            raw.set_secret(bad, "v")
        assert (refused.value.status_code, refused.value.error and refused.value.error.code) == (
            400,
            "BadParameter",
        )
    raw.close()


def test_versions_attributes_and_the_deleted_collection(vault: AzureVault) -> None:
    raw = vault.raw_client()
    name = azure_name_for_path(_path("raw"))
    first = raw.set_secret(name, "one")
    second = raw.set_secret(name, "two")
    assert raw.get_secret(name).value == "two"
    assert raw.get_secret(name, first.properties.version).value == "one"
    pages = list(raw.list_properties_of_secret_versions(name, max_page_size=1).by_page())
    assert len(pages) == 2
    assert {p.version for page in pages for p in page} == {
        first.properties.version,
        second.properties.version,
    }
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    updated = raw.update_secret_properties(
        name, second.properties.version, content_type="text/plain", tags={"k": "v"}, expires_on=expires
    )
    assert (updated.content_type, updated.tags, updated.expires_on) == ("text/plain", {"k": "v"}, expires)
    raw.begin_delete_secret(name, _polling_interval=0.1).wait()
    deleted = raw.get_deleted_secret(name)
    assert deleted.recovery_id is not None
    assert deleted.scheduled_purge_date is not None
    assert name in {d.name for d in raw.list_deleted_secrets()}
    raw.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        raw.get_deleted_secret(name)
    raw.close()


def test_every_sdk_call_of_the_backend_is_exercised(fresh: AzureVault) -> None:
    """The backend's SecretClient calls, parsed from its source, all reach the server here."""
    assert fresh.server is not None
    source = Path(azure_module.__file__).read_text()
    called = set(re.findall(r"self\._client\.(\w+)\(", source)) - {"close"}
    assert called <= set(SDK_OPERATIONS), f"map the new SDK calls: {called - set(SDK_OPERATIONS)}"

    backend = fresh.backend()
    path = _path("coverage")
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    backend.read(path)
    backend.list_changes(None, [path])
    backend.set_enabled(path, False, owner=OWNER)
    with pytest.raises(NotFound):
        backend.read(path)  # disabled: the current version is found by listing versions
    backend.set_enabled(path, True, owner=OWNER)
    backend.delete(path, owner=OWNER)
    backend.restore(path, owner=OWNER)
    backend.delete(path, owner=OWNER, recovery_days=0)
    backend.verify_permissions("team")
    backend.close()
    assert {SDK_OPERATIONS[call] for call in called} <= set(fresh.server.operations)
