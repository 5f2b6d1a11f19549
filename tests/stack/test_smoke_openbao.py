"""The OpenBao of the stack is a real Vault-compatible server: KV v2 CAS, KV v1, policies."""

from __future__ import annotations

import uuid

import hvac
import hvac.exceptions
import pytest

from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack


@pytest.fixture
def client(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.address, token=openbao.root_token, timeout=5)


def test_kv2_write_read_and_cas_conflict(client: hvac.Client) -> None:
    path = f"smoke/{uuid.uuid4().hex}"
    kv = client.secrets.kv.v2
    kv.create_or_update_secret(path=path, secret={"username": "u1"}, cas=0)
    kv.create_or_update_secret(path=path, secret={"username": "u2"}, cas=1)
    read = kv.read_secret_version(path=path, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"username": "u2"}
    assert read["data"]["metadata"]["version"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path=path, secret={"username": "stale"}, cas=1)


def test_kv1_mount_exists(client: hvac.Client) -> None:
    client.secrets.kv.v1.create_or_update_secret(path="smoke", secret={"k": "v"}, mount_point="kv1")
    assert client.secrets.kv.v1.read_secret(path="smoke", mount_point="kv1")["data"] == {"k": "v"}


def test_read_only_policy_denies_write(client: hvac.Client, openbao: OpenBao) -> None:
    client.sys.create_or_update_policy(
        name="smoke-read-only", policy='path "secret/data/*" { capabilities = ["read"] }'
    )
    token = client.auth.token.create(policies=["smoke-read-only"], ttl="5m")["auth"]["client_token"]
    reader = hvac.Client(url=openbao.address, token=token, timeout=5)
    client.secrets.kv.v2.create_or_update_secret(path="smoke/ro", secret={"a": "b"})
    assert reader.secrets.kv.v2.read_secret_version(path="smoke/ro", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.secrets.kv.v2.create_or_update_secret(path="smoke/ro", secret={"a": "c"})


def test_restart_keeps_address_token_and_mounts(client: hvac.Client, openbao: OpenBao) -> None:
    with openbao.stopped(), pytest.raises(Exception):  # noqa: B017, PT011 - any connection error
        client.sys.read_health_status(method="GET")
    assert "kv1/" in client.sys.list_mounted_secrets_engines()["data"]
