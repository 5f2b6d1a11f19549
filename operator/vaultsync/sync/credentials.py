"""Resolving the Kubernetes Secret references of a VaultProfile into backend credentials.

Profiles never hold credential values; they name Secret keys. This is the one place that
knows which reference feeds which credential name of each backend.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from vaultsync.backends.errors import InvalidConfig
from vaultsync.backends.interface import Credentials

SecretReader = Callable[[str, str], Mapping[str, str] | None]
"""(namespace, name) -> the Secret's base64 ``data``, or None when it does not exist."""


def credential_refs(provider_key: str, spec: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Credential name -> (Secret name, key) for one provider spec."""
    auth = spec.get("auth") or {}
    refs: dict[str, tuple[str, str]] = {}

    def ref(credential: str, secret_ref: Mapping[str, Any] | None, key_field: str = "key") -> None:
        if secret_ref:
            refs[credential] = (str(secret_ref["name"]), str(secret_ref[key_field]))

    if provider_key == "hashicorp":
        ref("token", (auth.get("token") or {}).get("secretRef"))
        ref("secretId", (auth.get("appRole") or {}).get("secretRef"))
        ref("caBundle", spec.get("caBundle"))
    elif provider_key == "aws":
        keys = (auth.get("accessKey") or {}).get("secretRef")
        if keys:
            refs["accessKeyId"] = (keys["name"], keys.get("accessKeyIdKey", "accessKeyId"))
            refs["secretAccessKey"] = (keys["name"], keys.get("secretAccessKeyKey", "secretAccessKey"))
    elif provider_key == "azure":
        ref("clientSecret", (auth.get("clientSecret") or {}).get("secretRef"))
        ref("caBundle", spec.get("caBundle"))
    return refs


def resolve_credentials(
    namespace: str, provider_key: str, spec: Mapping[str, Any], read_secret: SecretReader
) -> Credentials:
    """Reads every referenced Secret key; a missing Secret or key is an InvalidConfig naming it."""
    values: dict[str, str] = {}
    for credential, (secret_name, key) in credential_refs(provider_key, spec).items():
        data = read_secret(namespace, secret_name)
        if data is None:
            raise InvalidConfig(f"credential Secret {namespace}/{secret_name} not found")
        if key not in data:
            raise InvalidConfig(f"credential Secret {namespace}/{secret_name} has no key {key!r}")
        values[credential] = base64.b64decode(data[key]).decode("utf-8").strip()
    return Credentials(values)
