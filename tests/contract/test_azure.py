"""Azure-specific cases on Lowkey Vault: names, content type, the enabled flag, purge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from contract.conftest import lowkey_client
from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.errors import NotFound
from vaultsync.devstack.lowkey_server import LowkeyVault
from vaultsync.secrets.formats import AZURE_CONTENT_TYPE_PREFIX, azure_name_for_path

pytestmark = [pytest.mark.stack, pytest.mark.azure]

OWNER = "team-a/app"


@pytest.fixture
def backend(lowkey: LowkeyVault) -> Iterator[AzureBackend]:
    backend = AzureBackend(lowkey_client(lowkey.vault_url))
    yield backend
    backend.close()


@pytest.fixture
def prefix() -> str:
    return f"az-{uuid.uuid4().hex[:8]}"


def test_path_maps_to_a_reversible_name_with_the_content_type_tag(
    backend: AzureBackend, lowkey: LowkeyVault, prefix: str
) -> None:
    path = f"{prefix}/team/db_password"
    backend.write(path, "basic-auth", {"username": "u", "password": "p"}, owner=OWNER, expected_version=None)
    raw = lowkey_client(lowkey.vault_url).get_secret(azure_name_for_path(path))
    assert raw.properties.content_type == f"{AZURE_CONTENT_TYPE_PREFIX}; type=basic-auth"
    assert raw.properties.tags is not None
    assert raw.properties.tags["managed-by"] == "vaultsync"
    assert backend.list_changes(None, [path]).changed == {path}


def test_disable_and_reenable(backend: AzureBackend, prefix: str) -> None:
    path = f"{prefix}/toggle"
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    marker = backend.list_changes(None, [path]).marker
    backend.set_enabled(path, False, owner=OWNER)
    with pytest.raises(NotFound):
        backend.read(path)
    assert backend.list_changes(marker, [path]).changed == {path}
    backend.set_enabled(path, True, owner=OWNER)
    remote = backend.read(path)
    assert remote.metadata.enabled
    assert remote.document == {"value": "v"}


def test_permissions_with_full_access(backend: AzureBackend) -> None:
    report = backend.verify_permissions("team")
    assert report.ok
    assert report.checked == [f"secrets/{p}" for p in ("get", "list", "set", "delete", "recover", "purge")]
