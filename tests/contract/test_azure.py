"""Azure-specific cases on the Azure test vault (Lowkey Vault or the protocol server): names,
content type, the enabled flag, case-insensitive names, permissions with full access."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from keyvault_server.target import AzureVault
from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.errors import NotFound, NotOwned
from vaultsync.secrets.formats import AZURE_CONTENT_TYPE_PREFIX, azure_name_for_path

pytestmark = [pytest.mark.stack, pytest.mark.azure]

OWNER = "team-a/app"


@pytest.fixture
def backend(azure_vault: AzureVault) -> Iterator[AzureBackend]:
    backend = azure_vault.backend()
    yield backend
    backend.close()


@pytest.fixture
def prefix() -> str:
    return f"az-{uuid.uuid4().hex[:8]}"


def test_path_maps_to_a_reversible_name_with_the_content_type_tag(
    backend: AzureBackend, azure_vault: AzureVault, prefix: str
) -> None:
    path = f"{prefix}/team/db_password"
    backend.write(path, "basic-auth", {"username": "u", "password": "p"}, owner=OWNER, expected_version=None)
    raw = azure_vault.raw_client()
    secret = raw.get_secret(azure_name_for_path(path))
    raw.close()
    assert secret.properties.content_type == f"{AZURE_CONTENT_TYPE_PREFIX}; type=basic-auth"
    assert secret.properties.tags is not None
    assert secret.properties.tags["managed-by"] == "vaultsync"
    assert backend.list_changes(None, [path]).changed == {path}


def test_disable_and_reenable(backend: AzureBackend, prefix: str) -> None:
    path = f"{prefix}/toggle"
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    marker = backend.list_changes(None, [path]).marker
    backend.set_enabled(path, False, owner=OWNER)
    with pytest.raises(NotFound):
        backend.read(path)
    assert backend.list_changes(marker, [path]).changed == {path}
    rewritten = backend.write(path, "generic", {"value": "w"}, owner=OWNER, expected_version=None)
    with pytest.raises(NotFound):
        backend.read(path)  # a write keeps a disabled secret disabled
    backend.set_enabled(path, True, owner=OWNER)
    remote = backend.read(path)
    assert remote.metadata.enabled
    assert remote.document == {"value": "w"}
    assert remote.version == rewritten


def test_names_are_case_insensitive_like_key_vault(backend: AzureBackend, prefix: str) -> None:
    upper, lower = f"{prefix}/App/DB", f"{prefix}/app/db"
    backend.write(upper, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert backend.read(lower).document == {"value": "v"}
    assert backend.list_changes(None, [lower]).changed == {lower}
    with pytest.raises(NotOwned):
        backend.write(lower, "generic", {"value": "x"}, owner="team-b/other", expected_version=None)
    assert backend.read(upper).document == {"value": "v"}


def test_permissions_with_full_access(backend: AzureBackend) -> None:
    report = backend.verify_permissions("team")
    assert report.ok
    assert report.checked == [f"secrets/{p}" for p in ("get", "list", "set", "delete", "recover", "purge")]


def test_a_version_written_outside_vaultsync_is_drift_on_our_secret(
    backend: AzureBackend, azure_vault: AzureVault, prefix: str
) -> None:
    path = f"{prefix}/edited"
    backend.write(path, "generic", {"value": "ours"}, owner=OWNER, expected_version=None)
    raw = azure_vault.raw_client()
    raw.set_secret(azure_name_for_path(path), "edited in the portal")  # a new version without tags
    raw.close()
    drifted = backend.read(path)
    assert drifted.document == {"value": "edited in the portal"}
    assert (drifted.metadata.managed, drifted.metadata.owner) == (True, OWNER)
    with pytest.raises(NotOwned):
        backend.write(path, "generic", {"value": "x"}, owner="team-b/other", expected_version=None)
    backend.write(path, "generic", {"value": "ours"}, owner=OWNER, expected_version=drifted.version)
    assert backend.read(path).document == {"value": "ours"}
