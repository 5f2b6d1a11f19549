"""How the AWS backend gets credentials: static keys, role assumption, or web identity.

Role credentials are deferred refreshable botocore credentials: STS is called on first use and
again shortly before they expire, under botocore's own lock, so one client can be shared by many threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.session import get_session

from vaultsync.backends.errors import InvalidConfig
from vaultsync.backends.interface import Credentials
from vaultsync.backends.pools import DEFAULT_POOL_SIZE

DEFAULT_SESSION_NAME = "vaultsync"


def client_config(http_timeout: float, pool_size: int = DEFAULT_POOL_SIZE) -> Config:
    """Short timeouts, a pool for every thread, and no SDK retries (``retry.py`` retries throttling)."""
    return Config(
        connect_timeout=http_timeout,
        read_timeout=http_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=pool_size,
    )


def _expiring(response: Mapping[str, Any]) -> dict[str, str]:
    issued = response["Credentials"]
    expiry: datetime = issued["Expiration"]
    return {
        "access_key": issued["AccessKeyId"],
        "secret_key": issued["SecretAccessKey"],
        "token": issued["SessionToken"],
        "expiry_time": expiry.isoformat(),
    }


def _role_session(
    region: str, endpoint: str | None, config: Config, fetch: Callable[[Any], Mapping[str, Any]]
) -> boto3.session.Session:
    sts = boto3.session.Session(region_name=region).client("sts", endpoint_url=endpoint, config=config)
    credentials = DeferredRefreshableCredentials(
        refresh_using=lambda: _expiring(fetch(sts)), method="sts-assume-role"
    )
    botocore_session = get_session()
    # botocore has no public setter for a session's credentials object.
    botocore_session._credentials = credentials
    return boto3.session.Session(botocore_session=botocore_session, region_name=region)


def session_for(spec: Mapping[str, Any], credentials: Credentials, config: Config) -> boto3.session.Session:
    """A boto3 session authenticated as ``spec.auth`` says."""
    region = spec.get("region")
    if not region:
        raise InvalidConfig("aws.region: required")
    endpoint = spec.get("endpoint") or None
    auth = spec.get("auth") or {}
    if len(auth) != 1:
        raise InvalidConfig("aws.auth: set exactly one of accessKey, roleArn, webIdentity")
    if "accessKey" in auth:
        if "accessKeyId" not in credentials or "secretAccessKey" not in credentials:
            raise InvalidConfig(
                "aws.auth.accessKey: the referenced Secret lacks accessKeyId or secretAccessKey"
            )
        return boto3.session.Session(
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials.get("sessionToken"),
            region_name=region,
        )
    if "roleArn" in auth:
        options = auth["roleArn"] or {}
        role_arn = options.get("roleArn")
        if not role_arn:
            raise InvalidConfig("aws.auth.roleArn.roleArn: required")
        extra = {"ExternalId": options["externalId"]} if options.get("externalId") else {}
        session_name = options.get("sessionName") or DEFAULT_SESSION_NAME
        return _role_session(
            region,
            endpoint,
            config,
            lambda sts: sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **extra),
        )
    if "webIdentity" in auth:
        options = auth["webIdentity"] or {}
        role_arn = options.get("roleArn")
        token_path = options.get("tokenPath") or os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        if not role_arn or not (token_path or "webIdentityToken" in credentials):
            raise InvalidConfig(
                "aws.auth.webIdentity: needs roleArn and a tokenPath (or AWS_WEB_IDENTITY_TOKEN_FILE)"
            )

        def token() -> str:
            return credentials.get("webIdentityToken") or Path(str(token_path)).read_text().strip()

        return _role_session(
            region,
            endpoint,
            config,
            lambda sts: sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=DEFAULT_SESSION_NAME, WebIdentityToken=token()
            ),
        )
    raise InvalidConfig("aws.auth: set exactly one of accessKey, roleArn, webIdentity")
