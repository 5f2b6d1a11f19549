"""HashiCorp Vault / OpenBao backend: KV v2 (versioned, check-and-set, soft delete) and KV v1.

KV v2 keeps the ownership mark and the secret type in the secret's ``custom_metadata``;
writes use Vault's ``cas`` option, so compare-and-set is atomic. KV v1 has no metadata and
no versions: the mark, the type and a write counter live in one reserved key of the stored
object (:data:`KV1_META_KEY`, stripped on read), its compare-and-set is read-then-write
(not atomic), and its deletes are permanent. Vault has no change feed, so noticing changes
costs one metadata read per secret (plus one LIST per folder when paths are not given).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vaultsync.backends.errors import Conflict, InvalidConfig, NotFound
from vaultsync.backends.hashicorp_http import VaultHttp, VaultLogin
from vaultsync.backends.interface import (
    DELETED_AT_KEY,
    RESTORABLE_UNTIL_KEY,
    TYPE_KEY,
    CallCounter,
    Capabilities,
    ChangeMarker,
    ChangeSet,
    Credentials,
    DeleteResult,
    Document,
    PermissionReport,
    RemoteSecret,
    changes_between,
    check_ownership,
    metadata_from_marks,
    ownership_marks,
)
from vaultsync.backends.limits import VAULT_MAX_REQUEST_BYTES, check_size, json_request_size
from vaultsync.backends.paths import join_path
from vaultsync.backends.registry import BackendContext

KV1_META_KEY = "vaultsync.io/meta"
PROBE_NAME = "vaultsync-permission-probe"
DEFAULT_SA_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    trimmed = text.rstrip("Z")
    if "." in trimmed:
        head, frac = trimmed.split(".", 1)
        trimmed = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(trimmed + "+00:00")


def _mark_time(text: str | None) -> datetime | None:
    """A time vaultsync wrote into custom_metadata; a mark edited into nonsense counts as absent."""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _version_live(meta: Mapping[str, Any]) -> bool:
    current = str(meta.get("current_version", 0))
    entry = meta.get("versions", {}).get(current)
    return bool(entry) and not entry.get("deletion_time") and not entry.get("destroyed")


class HashicorpBackend:
    """Secrets below ``path_prefix`` of one KV mount of one Vault/OpenBao server."""

    def __init__(
        self,
        http: VaultHttp,
        *,
        mount: str,
        kv_version: int = 2,
        path_prefix: str = "",
        max_request_bytes: int = VAULT_MAX_REQUEST_BYTES,
    ) -> None:
        if kv_version not in (1, 2):
            raise InvalidConfig("hashicorp.kvVersion: must be 1 or 2")
        self._http = http
        self.calls: CallCounter = http.calls
        self._mount = mount.strip("/")
        self._kv_version = kv_version
        self._prefix = path_prefix.strip("/")
        self._version_key = secrets.token_bytes(32)
        self._max_request_bytes = max_request_bytes
        self.capabilities = Capabilities(soft_delete=kv_version == 2, atomic_compare_and_set=kv_version == 2)

    # -- paths --------------------------------------------------------------------------------
    def _full(self, path: str) -> str:
        return join_path(self._prefix, path)

    def _api(self, kind: str, path: str) -> str:
        full = self._full(path)
        if self._kv_version == 1:
            return f"{self._mount}/{full}".rstrip("/")
        return f"{self._mount}/{kind}/{full}".rstrip("/")

    # -- KV v2 ---------------------------------------------------------------------------------
    def _metadata(self, path: str) -> dict[str, Any] | None:
        try:
            body = self._http.request("metadata", "GET", self._api("metadata", path), capability="read")
        except NotFound:
            return None
        return (body or {}).get("data") or {}

    def _write_marks(
        self, path: str, existing: Mapping[str, str] | None, owner: str, secret_type: str
    ) -> None:
        wanted = {**(existing or {}), **ownership_marks(owner), TYPE_KEY: secret_type}
        for retention_mark in (DELETED_AT_KEY, RESTORABLE_UNTIL_KEY):
            wanted.pop(retention_mark, None)
        if wanted != existing:
            self._http.request(
                "write-metadata",
                "POST",
                self._api("metadata", path),
                {"custom_metadata": wanted},
                capability="create" if existing is None else "update",
            )

    # -- KV v1 ---------------------------------------------------------------------------------
    def _kv1_get(self, path: str) -> tuple[Document, dict[str, Any]]:
        body = self._http.request("read", "GET", self._api("", path), capability="read") or {}
        data = dict(body.get("data") or {})
        raw_meta = data.pop(KV1_META_KEY, None)
        try:
            meta = json.loads(raw_meta) if isinstance(raw_meta, str) else {}
        except json.JSONDecodeError:
            meta = {}
        return data, meta if isinstance(meta, dict) else {}

    def _kv1_version(self, document: Document, meta: Mapping[str, Any]) -> str:
        if isinstance(meta.get("version"), int):
            return f"w{meta['version']}"
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        return "h" + hmac.new(self._version_key, canonical, hashlib.sha256).hexdigest()[:24]

    def _request_size(self, document: Document) -> int:
        """An upper bound of the write's body (the largest version counter, the marks of KV v1)."""
        if self._kv_version == 2:
            return json_request_size({"data": document, "options": {"cas": 2**63}})
        marks = {"marks": {**ownership_marks("x" * 253 + "/" + "x" * 253), TYPE_KEY: "x" * 32}}
        return json_request_size({**document, KV1_META_KEY: json.dumps({**marks, "version": 2**63})})

    # -- interface -----------------------------------------------------------------------------
    def read(self, path: str) -> RemoteSecret:
        if self._kv_version == 1:
            document, meta = self._kv1_get(path)
            return RemoteSecret(
                document, self._kv1_version(document, meta), metadata_from_marks(meta.get("marks"))
            )
        body = self._http.request("read", "GET", self._api("data", path), capability="read") or {}
        data = body.get("data") or {}
        info = data.get("metadata") or {}
        metadata = metadata_from_marks(
            info.get("custom_metadata"), updated_at=_parse_time(info.get("created_time"))
        )
        return RemoteSecret(dict(data.get("data") or {}), str(info.get("version")), metadata)

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
        if KV1_META_KEY in document:
            raise InvalidConfig(f"{path}: the field name {KV1_META_KEY} is reserved by vaultsync")
        check_size(path, self._request_size(document), self._max_request_bytes, "a request to this vault")
        if self._kv_version == 1:
            return self._write_kv1(path, secret_type, document, owner, expected_version, adopt)
        meta = self._metadata(path)
        marks: Mapping[str, str] | None = None
        if meta is None:
            if expected_version is not None:
                raise Conflict(f"{path}: expected version {expected_version} but the secret does not exist")
            cas = 0
        else:
            marks = meta.get("custom_metadata") or {}
            check_ownership(path, metadata_from_marks(marks), owner, adopt=adopt)
            current = int(meta.get("current_version", 0))
            if expected_version is not None and expected_version != str(current):
                raise Conflict(f"{path}: expected version {expected_version}, vault has {current}")
            cas = current
        self._write_marks(path, marks, owner, secret_type)
        body = self._http.request(
            "write",
            "POST",
            self._api("data", path),
            {"data": document, "options": {"cas": cas}},
            capability="create" if cas == 0 else "update",
        )
        return str(((body or {}).get("data") or {}).get("version"))

    def _write_kv1(  # noqa: PLR0917
        self,
        path: str,
        secret_type: str,
        document: Document,
        owner: str,
        expected_version: str | None,
        adopt: bool,
    ) -> str:
        try:
            current_doc, meta = self._kv1_get(path)
        except NotFound:
            if expected_version is not None:
                raise Conflict(
                    f"{path}: expected version {expected_version} but the secret does not exist"
                ) from None
            counter = 0
        else:
            check_ownership(path, metadata_from_marks(meta.get("marks")), owner, adopt=adopt)
            if expected_version is not None and expected_version != self._kv1_version(current_doc, meta):
                raise Conflict(f"{path}: version is not the expected one")
            counter = meta["version"] if isinstance(meta.get("version"), int) else 0
        new_meta = {"marks": {**ownership_marks(owner), TYPE_KEY: secret_type}, "version": counter + 1}
        stored = {**document, KV1_META_KEY: json.dumps(new_meta, sort_keys=True)}
        self._http.request("write", "POST", self._api("", path), stored, capability="create/update")
        return f"w{counter + 1}"

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        if self._kv_version == 1:
            _, kv1_meta = self._kv1_get(path)
            check_ownership(path, metadata_from_marks(kv1_meta.get("marks")), owner, adopt=adopt)
            self._http.request("delete", "DELETE", self._api("", path), capability="delete")
            return DeleteResult(restorable=False)
        meta = self._metadata(path)
        if meta is None:
            raise NotFound(f"{path}: not found")
        check_ownership(path, metadata_from_marks(meta.get("custom_metadata")), owner, adopt=adopt)
        if recovery_days == 0:
            self._http.request("destroy", "DELETE", self._api("metadata", path), capability="delete")
            return DeleteResult(restorable=False)
        if not _version_live(meta):
            raise NotFound(f"{path}: already deleted")
        until = None
        if recovery_days is not None:
            # KV v2 keeps soft-deleted versions without a deadline: the window is ours to record.
            now = datetime.now(UTC).replace(microsecond=0)
            until = now + timedelta(days=recovery_days)
            marks = dict(meta.get("custom_metadata") or {})
            marks |= {DELETED_AT_KEY: now.isoformat(), RESTORABLE_UNTIL_KEY: until.isoformat()}
            self._http.request(
                "write-metadata",
                "POST",
                self._api("metadata", path),
                {"custom_metadata": marks},
                capability="update",
            )
        self._http.request("delete", "DELETE", self._api("data", path), capability="delete")
        return DeleteResult(restorable=True, restorable_until=until)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        if self._kv_version == 1:
            raise NotFound(f"{path}: KV v1 deletes are permanent; nothing to restore")
        meta = self._metadata(path)
        current = str((meta or {}).get("current_version", 0))
        entry = (meta or {}).get("versions", {}).get(current) or {}
        if not entry.get("deletion_time") or entry.get("destroyed"):
            raise NotFound(f"{path}: no soft-deleted version to restore")
        marks = dict((meta or {}).get("custom_metadata") or {})
        if owner is not None:
            check_ownership(path, metadata_from_marks(marks), owner, adopt=False)
        until = _mark_time(marks.get(RESTORABLE_UNTIL_KEY))
        if until is not None and until < datetime.now(UTC):
            raise NotFound(f"{path}: its restore window ended")
        self._http.request(
            "undelete",
            "POST",
            self._api("undelete", path),
            {"versions": [int(current)]},
            capability="update",
        )
        if DELETED_AT_KEY in marks or RESTORABLE_UNTIL_KEY in marks:
            kept = {k: v for k, v in marks.items() if k not in (DELETED_AT_KEY, RESTORABLE_UNTIL_KEY)}
            self._http.request(
                "write-metadata",
                "POST",
                self._api("metadata", path),
                {"custom_metadata": kept},
                capability="update",
            )

    def _list(self, folder: str) -> list[str]:
        try:
            body = self._http.request("list", "LIST", self._api("metadata", folder), capability="list")
        except NotFound:
            return []
        found: list[str] = []
        for key in ((body or {}).get("data") or {}).get("keys", []):
            child = join_path(folder, key.rstrip("/")) if folder else key.rstrip("/")
            found.extend(self._list(child) if key.endswith("/") else [child])
        return found

    def list_paths(self) -> list[str]:
        """Every secret path in scope (relative to the prefix), one LIST call per folder."""
        return self._list("")

    def _token(self, path: str) -> str | None:
        if self._kv_version == 1:
            try:
                document, kv1_meta = self._kv1_get(path)
            except NotFound:
                return None
            return self._kv1_version(document, kv1_meta)
        meta = self._metadata(path)
        if meta is None or not _version_live(meta):
            return None
        return str(meta.get("current_version"))

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        candidates = list(paths) if paths is not None else self.list_paths()
        tokens = {p: t for p in candidates if (t := self._token(p)) is not None}
        return changes_between(since, tokens, paths)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig("hashicorp: Vault/OpenBao has no per-secret enable switch")

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        probe = join_path(path_prefix, PROBE_NAME)
        if self._kv_version == 1:
            wanted = {
                self._api("", probe): ["read", "create", "update", "delete"],
                self._api("", path_prefix): ["list"],
            }
        else:
            wanted = {
                self._api("data", probe): ["read", "create", "update", "delete"],
                self._api("metadata", probe): ["read", "create", "update", "delete"],
                self._api("metadata", path_prefix): ["list"],
                self._api("undelete", probe): ["update"],
            }
        body = self._http.request(
            "capabilities", "POST", "sys/capabilities-self", {"paths": list(wanted)}, capability="update"
        )
        granted = (body or {}).get("data") or body or {}
        checked: list[str] = []
        missing: list[str] = []
        for api_path, capabilities in wanted.items():
            have = set(granted.get(api_path) or [])
            for capability in capabilities:
                name = f"{capability} on {api_path}"
                checked.append(name)
                if "root" not in have and capability not in have:
                    missing.append(name)
        return PermissionReport(checked=checked, missing=missing)

    def close(self) -> None:
        self._http.close()


def _auth(spec: Mapping[str, Any], credentials: Credentials) -> tuple[str | None, VaultLogin | None]:
    auth = spec.get("auth") or {}
    if len(auth) != 1:
        raise InvalidConfig("hashicorp.auth: set exactly one of token, appRole, kubernetes")
    if "token" in auth:
        if "token" not in credentials:
            raise InvalidConfig("hashicorp.auth.token: the referenced Secret gave no token")
        return credentials["token"], None
    if "appRole" in auth:
        options = auth["appRole"] or {}
        role_id = options.get("roleId")
        if not role_id or "secretId" not in credentials:
            raise InvalidConfig("hashicorp.auth.appRole: needs roleId and a secretId reference")
        secret_id = credentials["secretId"]
        return None, VaultLogin(
            mount=options.get("mountPath", "approle"),
            payload=lambda: {"role_id": role_id, "secret_id": secret_id},
            describe="AppRole login",
        )
    if "kubernetes" in auth:
        options = auth["kubernetes"] or {}
        role = options.get("role")
        if not role:
            raise InvalidConfig("hashicorp.auth.kubernetes.role: required")

        def payload() -> dict[str, str]:
            jwt = credentials.get("jwt") or Path(DEFAULT_SA_TOKEN_PATH).read_text().strip()
            return {"role": role, "jwt": jwt}

        return None, VaultLogin(
            mount=options.get("mountPath", "kubernetes"), payload=payload, describe="Kubernetes login"
        )
    raise InvalidConfig("hashicorp.auth: set exactly one of token, appRole, kubernetes")


def from_spec(spec: Mapping[str, Any], credentials: Credentials, context: BackendContext) -> HashicorpBackend:
    """Build the backend from a VaultProfile ``spec.provider.hashicorp`` object.

    Credentials: ``token`` (token auth), ``secretId`` (AppRole), ``jwt`` (kubernetes auth; the
    operator's mounted service account token when absent), ``caBundle`` (PEM, optional).
    """
    if not spec.get("address"):
        raise InvalidConfig("hashicorp.address: required")
    token, login = _auth(spec, credentials)
    http = VaultHttp(
        spec["address"],
        token=token,
        login=login,
        namespace=spec.get("namespace"),
        ca_bundle=credentials.get("caBundle"),
        verify_tls=not spec.get("tlsSkipVerify", False),
        timeout=context.http_timeout,
        retry=context.retry,
        calls=CallCounter(),
        pool_size=context.pool_size,
    )
    return HashicorpBackend(
        http,
        mount=spec.get("mount", "secret"),
        kv_version=int(spec.get("kvVersion", 2)),
        path_prefix=spec.get("pathPrefix", ""),
        max_request_bytes=context.vault_max_request_bytes,
    )


__all__ = ["HashicorpBackend", "from_spec"]
