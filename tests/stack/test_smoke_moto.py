"""moto in server mode answers Secrets Manager like AWS: versions, soft delete, restore."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from vaultsync_devstack.vaults import Moto

pytestmark = pytest.mark.stack


@pytest.fixture
def sm(moto: Moto) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=moto.endpoint,
        region_name=moto.region,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
    )


def test_create_put_get_delete_with_recovery_and_restore(sm: Any) -> None:
    name = f"smoke/{uuid.uuid4().hex}"
    sm.create_secret(Name=name, SecretString='{"v": 1}', Tags=[{"Key": "managed-by", "Value": "vaultsync"}])
    put = sm.put_secret_value(SecretId=name, SecretString='{"v": 2}')
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == '{"v": 2}'
    assert got["VersionId"] == put["VersionId"]
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["DeletionDate"]
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=name)
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == '{"v": 2}'
    tags = sm.describe_secret(SecretId=name)["Tags"]
    assert {"Key": "managed-by", "Value": "vaultsync"} in tags


def test_missing_secret_is_resource_not_found(sm: Any) -> None:
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=f"missing/{uuid.uuid4().hex}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
