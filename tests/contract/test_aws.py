"""AWS-specific cases on moto: IAM-enforced permission diagnosis, role and web identity auth, KMS."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from vaultsync.backends.aws import AwsBackend
from vaultsync.backends.errors import PermissionDenied
from vaultsync.backends.interface import Credentials
from vaultsync.backends.registry import create_backend
from vaultsync_devstack.vaults import Moto

pytestmark = pytest.mark.stack

OWNER = "team-a/app"
ROLE_ARN = "arn:aws:iam::123456789012:role/vaultsync"
READ_ONLY = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecrets"]


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second moto that enforces IAM after the first three (provisioning) calls."""
    server = Moto(state=tmp_path_factory.mktemp("moto-iam"), env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def read_only_backend(iam_moto: str) -> Iterator[AwsBackend]:
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=iam_moto,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    iam.create_user(UserName="reader")
    statement = {"Effect": "Allow", "Action": READ_ONLY, "Resource": "*"}
    iam.put_user_policy(
        UserName="reader",
        PolicyName="read-only",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    backend = create_backend(
        "aws",
        {"region": "us-east-1", "endpoint": iam_moto, "auth": {"accessKey": {}}},
        Credentials({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}),
        http_timeout=2,
    )
    assert isinstance(backend, AwsBackend)
    yield backend
    backend.close()


def test_permission_probe_names_what_iam_denies(read_only_backend: AwsBackend) -> None:
    report = read_only_backend.verify_permissions("team")
    assert not report.ok
    assert report.missing == [
        "secretsmanager:PutSecretValue",
        "secretsmanager:DeleteSecret",
        "secretsmanager:TagResource",
        "secretsmanager:RestoreSecret",
    ]
    assert set(READ_ONLY) <= set(report.checked)


def test_denied_write_names_the_missing_action(read_only_backend: AwsBackend) -> None:
    with pytest.raises(PermissionDenied) as denied:
        read_only_backend.write("team/db", "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert denied.value.missing == ["secretsmanager:CreateSecret"]
    assert '"v"' not in str(denied.value)


def test_full_access_reports_nothing_missing(moto: Moto) -> None:
    backend = _backend(moto, {"accessKey": {}}, {"accessKeyId": "a", "secretAccessKey": "b"})
    report = backend.verify_permissions("team")
    assert report.ok
    assert len(report.checked) == 7


def _backend(moto: Moto, auth: dict[str, object], credentials: dict[str, str], **spec: str) -> AwsBackend:
    backend = create_backend(
        "aws",
        {"region": moto.region, "endpoint": moto.endpoint, "auth": auth, **spec},
        Credentials(credentials),
        http_timeout=2,
    )
    assert isinstance(backend, AwsBackend)
    return backend


@pytest.mark.parametrize(
    ("auth", "credentials"),
    [
        pytest.param({"roleArn": {"roleArn": ROLE_ARN, "externalId": "ext"}}, {}, id="assume-role"),
        pytest.param(
            {"webIdentity": {"roleArn": ROLE_ARN}}, {"webIdentityToken": "eyJ.e30.sig"}, id="web-identity"
        ),
    ],
)
def test_role_credentials_come_from_sts(
    moto: Moto, monkeypatch: pytest.MonkeyPatch, auth: dict[str, object], credentials: dict[str, str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret_access_key)
    backend = _backend(moto, auth, credentials)
    path = f"role-{uuid.uuid4().hex[:8]}/db"
    version = backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert backend.read(path).version == version
    backend.close()


def test_web_identity_token_file(moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.e30.sig\n")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, "unused"))
    backend = _backend(moto, {"webIdentity": {"roleArn": ROLE_ARN}}, {})
    assert backend.list_changes(None, ["nothing-here"]).changed == frozenset()
    backend.close()


def test_kms_key_id_is_used_for_created_secrets(moto: Moto) -> None:
    backend = _backend(
        moto, {"accessKey": {}}, {"accessKeyId": "a", "secretAccessKey": "b"}, kmsKeyId="alias/vaultsync"
    )
    path = f"kms-{uuid.uuid4().hex[:8]}/db"
    backend.write(path, "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    raw = boto3.client(
        "secretsmanager",
        region_name=moto.region,
        endpoint_url=moto.endpoint,
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    assert raw.describe_secret(SecretId=path)["KmsKeyId"] == "alias/vaultsync"
    backend.close()


def test_change_detection_costs_one_list_call_per_hundred_secrets(moto: Moto) -> None:
    backend = _backend(moto, {"accessKey": {}}, {"accessKeyId": "a", "secretAccessKey": "b"})
    prefix = f"cost-{uuid.uuid4().hex[:8]}"
    paths = [f"{prefix}/s{i}" for i in range(30)]
    for path in paths:
        backend.write(path, "generic", {"value": path}, owner=OWNER, expected_version=None)
    marker = backend.list_changes(None, paths).marker
    raw = boto3.client(
        "secretsmanager",
        region_name=moto.region,
        endpoint_url=moto.endpoint,
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    total = sum(len(page["SecretList"]) for page in raw.get_paginator("list_secrets").paginate())
    backend.calls.reset()
    assert backend.list_changes(marker, paths).changed == frozenset()
    assert backend.calls.snapshot() == {"ListSecrets": math.ceil(total / 100)}
    backend.close()
