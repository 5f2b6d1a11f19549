"""Read-only backend over the operator's own environment: ``SECRET_<NAME>`` base64 variables.

A secret at path ``NAME`` is the variable ``<prefix>NAME`` (prefix ``SECRET_`` by default). Its
value is base64; the decoded text is the document when it is a JSON object, otherwise the
document is ``{"value": <text>}`` (generic content; non-UTF-8 bytes stay base64 with
``valueEncoding: base64``). The environment never carries ownership marks or versions: the
version id is a keyed digest of the value (stable within one operator process only, and never
a bare hash, so it cannot be used to guess a short value). Every write-side operation raises
:class:`InvalidConfig`.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import secrets
from base64 import b64decode
from collections.abc import Collection, Mapping
from typing import Any

from vaultsync.backends.errors import InvalidConfig, NotFound
from vaultsync.backends.interface import (
    CallCounter,
    Capabilities,
    ChangeMarker,
    ChangeSet,
    Credentials,
    DeleteResult,
    Document,
    PermissionReport,
    RemoteMetadata,
    RemoteSecret,
    changes_between,
)
from vaultsync.backends.registry import BackendContext
from vaultsync.secrets.encoding import encode_base64
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.fields import GENERIC_ENCODING
from vaultsync.secrets.formats import json_to_document

DEFAULT_PREFIX = "SECRET_"
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
READ_ONLY = "the env backend is read-only: write to the variable's source (Deployment env, .env file) instead"


class EnvBackend:
    """Secrets read from ``environ`` (``os.environ`` by default) under ``prefix``."""

    capabilities = Capabilities(writable=False, soft_delete=False, atomic_compare_and_set=False)

    def __init__(self, environ: Mapping[str, str] | None = None, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._environ = environ if environ is not None else os.environ
        self._prefix = prefix
        self._version_key = secrets.token_bytes(32)
        self.calls = CallCounter()

    def _variable(self, path: str) -> str:
        name = path.strip("/")
        if not _NAME.fullmatch(name):
            raise InvalidConfig("path: an env secret name may contain only letters, digits and '_'")
        return f"{self._prefix}{name}"

    def _version(self, raw: str) -> str:
        return "h" + hmac.new(self._version_key, raw.encode(), hashlib.sha256).hexdigest()[:24]

    def read(self, path: str) -> RemoteSecret:
        variable = self._variable(path)
        self.calls.add("read")
        raw = self._environ.get(variable)
        if raw is None:
            raise NotFound(f"{variable}: not set")
        try:
            decoded = b64decode(raw.strip(), validate=True)
        except binascii.Error as e:
            raise InvalidConfig(f"{variable}: is not valid base64") from e
        return RemoteSecret(_document(decoded), self._version(raw), RemoteMetadata(managed=False, owner=None))

    def write(
        self,
        path: str,
        secret_type: str,
        document: Document,
        *,
        owner: str,
        expected_version: str | None,
        adopt: bool = False,
    ) -> str:
        raise InvalidConfig(READ_ONLY)

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        raise InvalidConfig(READ_ONLY)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        raise InvalidConfig(READ_ONLY)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig(READ_ONLY)

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        self.calls.add("list")
        wanted = {self._variable(path): path.strip("/") for path in paths} if paths is not None else None
        tokens: dict[str, str] = {}
        for variable, raw in list(self._environ.items()):
            if not variable.startswith(self._prefix):
                continue
            path = wanted.get(variable) if wanted is not None else variable[len(self._prefix) :]
            if path:
                tokens[path] = self._version(raw)
        return changes_between(since, tokens, paths)

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        return PermissionReport(checked=[f"read {self._prefix}* environment variables"], missing=[])

    def close(self) -> None:
        """Nothing to release."""


def _document(decoded: bytes) -> Document:
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return {"value": encode_base64(decoded), GENERIC_ENCODING: "base64"}
    if text.lstrip().startswith("{"):
        try:
            return json_to_document(text)
        except SecretModelError:
            pass
    return {"value": text}


def from_spec(spec: Mapping[str, Any], credentials: Credentials, context: BackendContext) -> EnvBackend:
    """Build the backend from ``spec.provider.env`` (``prefix``, default ``SECRET_``)."""
    return EnvBackend(context.environ, prefix=spec.get("prefix") or DEFAULT_PREFIX)
