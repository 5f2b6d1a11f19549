"""The state of one test key vault and the rules of the Key Vault secrets REST operations.

Written for the test suite from the public Key Vault REST reference (API version 2026-04-01, the
default of the installed ``azure-keyvault-secrets``). This module knows nothing of HTTP: every
operation returns a JSON body or raises :class:`KvError` carrying the status and the Key Vault
error shape ``{"error": {"code", "message", "innererror": {"code"}}}``.

Behaviour kept from the service: names are case-insensitive and 1-127 of ``[0-9a-zA-Z-]``; a value
is at most 25,600 bytes; a version id is 32 hex digits; get of a disabled version is a 403
``Forbidden``/``SecretDisabled``; deletes and recoveries complete asynchronously (the SDK polls);
a name that is being deleted, deleted but recoverable, or being recovered cannot be set (409
``Conflict`` with ``ObjectIsBeingDeleted``/``ObjectIsDeletedButRecoverable``/``ObjectIsBeingRecovered``);
lists page with at most 25 items and a ``nextLink``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25_600
MAX_PAGE = 25
MAX_TAGS = 15
MAX_CONTENT_TYPE = 255
Json = dict[str, Any]


class KvError(Exception):
    """An error answer of the service: HTTP status plus the Key Vault error body."""

    def __init__(self, status: int, code: str, message: str, inner: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": {"code": code, "message": message}}
        if inner:
            self.body["error"]["innererror"] = {"code": inner}


def not_found(name: str, deleted: bool = False) -> KvError:
    if deleted:
        return KvError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
    return KvError(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")


def conflict(name: str, state: str) -> KvError:
    messages = {
        "ObjectIsBeingDeleted": f"Secret {name} is currently being deleted.",
        "ObjectIsDeletedButRecoverable": (
            f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be "
            "reused; in this state, the secret can only be recovered or purged."
        ),
        "ObjectIsBeingRecovered": f"Secret {name} is currently being recovered and cannot be re-created.",
    }
    return KvError(409, "Conflict", messages[state], state)


@dataclass
class Version:
    id: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    nbf: int | None
    exp: int | None
    created: int
    updated: int


@dataclass
class Secret:
    name: str
    """As first created: Key Vault keeps the case it was given and compares without it."""
    versions: list[Version] = field(default_factory=list)
    ready_at: float = 0.0
    """Monotonic time when a recovery completes (the secret is invisible before)."""

    @property
    def latest(self) -> Version:
        return self.versions[-1]


@dataclass
class Deleted:
    secret: Secret
    deleted_date: int
    scheduled_purge_date: int
    ready_at: float
    """Monotonic time when the deletion completes (before, get-deleted answers 404)."""


class KeyVaultState:
    """Secrets, versions and the deleted collection of one vault, guarded by one lock."""

    def __init__(
        self, base_url: str, *, soft_delete: bool = True, retention_days: int = 7, transition: float = 0.2
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.soft_delete = soft_delete
        self.retention_days = retention_days
        self.transition = transition
        """Seconds a delete, purge or recovery takes to complete."""
        self.clock: Callable[[], float] = time.time
        """Wall clock of ``created``/``updated`` (whole seconds, as Key Vault reports them)."""
        self._lock = threading.Lock()
        self._secrets: dict[str, Secret] = {}
        self._deleted: dict[str, Deleted] = {}
        self._purging: dict[str, float] = {}

    # ---- JSON shapes -------------------------------------------------------------------------

    def _recovery_level(self) -> str:
        if not self.soft_delete:
            return "Purgeable"
        return "Recoverable+Purgeable" if self.retention_days == 90 else "CustomizedRecoverable+Purgeable"

    def _attributes(self, version: Version) -> Json:
        attributes: Json = {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": self._recovery_level(),
        }
        if self.soft_delete:
            attributes["recoverableDays"] = self.retention_days
        if version.nbf is not None:
            attributes["nbf"] = version.nbf
        if version.exp is not None:
            attributes["exp"] = version.exp
        return attributes

    def _item(self, secret: Secret, version: Version, *, with_version: bool) -> Json:
        suffix = f"/{version.id}" if with_version else ""
        item: Json = {
            "id": f"{self.base_url}/secrets/{secret.name}{suffix}",
            "attributes": self._attributes(version),
        }
        if version.content_type is not None:
            item["contentType"] = version.content_type
        if version.tags is not None:
            item["tags"] = dict(version.tags)
        return item

    def _bundle(self, secret: Secret, version: Version, *, value: bool) -> Json:
        bundle = self._item(secret, version, with_version=True)
        if value:
            bundle["value"] = version.value
        return bundle

    def _deleted_bundle(self, deleted: Deleted, *, item: bool = False) -> Json:
        secret = deleted.secret
        body = (
            self._item(secret, secret.latest, with_version=False)
            if item
            else self._bundle(secret, secret.latest, value=False)
        )
        body["recoveryId"] = f"{self.base_url}/deletedsecrets/{secret.name}"
        body["deletedDate"] = deleted.deleted_date
        body["scheduledPurgeDate"] = deleted.scheduled_purge_date
        return body

    # ---- validation --------------------------------------------------------------------------

    @staticmethod
    def check_name(name: str) -> str:
        if not NAME.fullmatch(name):
            raise KvError(400, "BadParameter", "The request URI contains an invalid name.")
        return name.lower()

    @staticmethod
    def _check_properties(content_type: Any, tags: Any) -> None:
        if content_type is not None and (not isinstance(content_type, str) or len(content_type) > 255):
            raise KvError(400, "BadParameter", "Property contentType has invalid value.")
        if tags is not None:
            if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
                raise KvError(400, "BadParameter", f"The number of tags exceeds the limit of {MAX_TAGS}.")
            for key, value in tags.items():
                if not isinstance(value, str) or len(key) > 512 or len(value) > 256:
                    raise KvError(400, "BadParameter", "A tag name or value has an invalid length.")

    @staticmethod
    def _time_attribute(attributes: Mapping[str, Any], key: str, current: int | None) -> int | None:
        if key not in attributes:
            return current
        value = attributes[key]
        if value is not None and not isinstance(value, int):
            raise KvError(400, "BadParameter", f"Property attributes.{key} has invalid value.")
        return value

    # ---- state helpers (lock held) -------------------------------------------------------------

    def _settle(self, key: str) -> None:
        now = time.monotonic()
        purge_done = self._purging.get(key)
        if purge_done is not None and purge_done <= now:
            del self._purging[key]
        deleted = self._deleted.get(key)
        if deleted is not None and deleted.scheduled_purge_date <= time.time():
            del self._deleted[key]

    def _visible(self, key: str, name: str) -> Secret:
        self._settle(key)
        secret = self._secrets.get(key)
        if secret is None or secret.ready_at > time.monotonic():
            raise not_found(name)
        return secret

    def _blocked(self, key: str, name: str) -> None:
        """Raises the 409 of a name that cannot be set now."""
        self._settle(key)
        now = time.monotonic()
        deleted = self._deleted.get(key)
        if key in self._purging or (deleted is not None and deleted.ready_at > now):
            raise conflict(name, "ObjectIsBeingDeleted")
        if deleted is not None:
            raise conflict(name, "ObjectIsDeletedButRecoverable")
        secret = self._secrets.get(key)
        if secret is not None and secret.ready_at > now:
            raise conflict(name, "ObjectIsBeingRecovered")

    @staticmethod
    def _version_of(secret: Secret, version_id: str, name: str) -> Version:
        if not version_id:
            return secret.latest
        for version in secret.versions:
            if version.id == version_id.lower():
                return version
        raise not_found(f"{name}/{version_id}")

    # ---- operations ----------------------------------------------------------------------------

    def set_secret(self, name: str, body: Mapping[str, Any]) -> Json:
        key = self.check_name(name)
        value = body.get("value")
        if not isinstance(value, str):
            raise KvError(400, "BadParameter", "Property value is required.")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise KvError(
                400, "BadParameter", f"The secret value exceeds the maximum size of {MAX_VALUE_BYTES} bytes."
            )
        content_type, tags = body.get("contentType"), body.get("tags")
        self._check_properties(content_type, tags)
        attributes = body.get("attributes") or {}
        now = int(self.clock())
        with self._lock:
            self._blocked(key, name)
            secret = self._secrets.setdefault(key, Secret(name))
            version = Version(
                id=uuid.uuid4().hex,
                value=value,
                content_type=content_type,
                tags=dict(tags) if tags is not None else None,
                enabled=bool(attributes.get("enabled", True)),
                nbf=self._time_attribute(attributes, "nbf", None),
                exp=self._time_attribute(attributes, "exp", None),
                created=now,
                updated=now,
            )
            secret.versions.append(version)
            return self._bundle(secret, version, value=True)

    def get_secret(self, name: str, version_id: str) -> Json:
        key = self.check_name(name)
        with self._lock:
            secret = self._visible(key, name)
            version = self._version_of(secret, version_id, name)
            if not version.enabled:
                raise KvError(
                    403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
                )
            return self._bundle(secret, version, value=True)

    def update_secret(self, name: str, version_id: str, body: Mapping[str, Any]) -> Json:
        key = self.check_name(name)
        content_type, tags = body.get("contentType"), body.get("tags")
        self._check_properties(content_type, tags)
        attributes = body.get("attributes") or {}
        with self._lock:
            secret = self._visible(key, name)
            version = self._version_of(secret, version_id, name)
            if "contentType" in body:
                version.content_type = content_type
            if "tags" in body:
                version.tags = dict(tags) if tags is not None else None
            if attributes.get("enabled") is not None:
                version.enabled = bool(attributes["enabled"])
            version.nbf = self._time_attribute(attributes, "nbf", version.nbf)
            version.exp = self._time_attribute(attributes, "exp", version.exp)
            version.updated = int(self.clock())
            return self._bundle(secret, version, value=False)

    def delete_secret(self, name: str) -> Json:
        key = self.check_name(name)
        with self._lock:
            secret = self._visible(key, name)
            del self._secrets[key]
            now = time.time()
            if not self.soft_delete:
                return self._bundle(secret, secret.latest, value=False)
            deleted = Deleted(
                secret,
                deleted_date=int(now),
                scheduled_purge_date=int(now) + self.retention_days * 86_400,
                ready_at=time.monotonic() + self.transition,
            )
            self._deleted[key] = deleted
            return self._deleted_bundle(deleted)

    def _deleted_entry(self, key: str, name: str) -> Deleted:
        self._settle(key)
        deleted = self._deleted.get(key)
        if deleted is None or deleted.ready_at > time.monotonic():
            raise not_found(name, deleted=True)
        return deleted

    def get_deleted_secret(self, name: str) -> Json:
        key = self.check_name(name)
        with self._lock:
            return self._deleted_bundle(self._deleted_entry(key, name))

    def _take_deleted(self, key: str, name: str) -> Deleted:
        """Removes a completed deletion from the deleted collection (recover, purge)."""
        self._settle(key)
        pending = self._deleted.get(key)
        if pending is not None and pending.ready_at > time.monotonic():
            raise conflict(name, "ObjectIsBeingDeleted")
        self._deleted_entry(key, name)
        return self._deleted.pop(key)

    def recover_deleted_secret(self, name: str) -> Json:
        key = self.check_name(name)
        with self._lock:
            secret = self._take_deleted(key, name).secret
            secret.ready_at = time.monotonic() + self.transition
            self._secrets[key] = secret
            return self._bundle(secret, secret.latest, value=False)

    def purge_deleted_secret(self, name: str) -> None:
        key = self.check_name(name)
        with self._lock:
            self._take_deleted(key, name)
            self._purging[key] = time.monotonic() + self.transition

    def end_retention(self, name: str) -> None:
        """The retention window of a deleted secret ends now: the vault purges it (as Key Vault does)."""
        key = self.check_name(name)
        with self._lock:
            deleted = self._deleted_entry(key, name)
            deleted.scheduled_purge_date = int(time.time())
            self._settle(key)

    # ---- lists ---------------------------------------------------------------------------------

    def _page(self, rows: list[tuple[str, Json]], path: str, query: Mapping[str, str]) -> Json:
        """One page of ``rows`` (sorted by key) after the ``$skiptoken`` marker."""
        size = query.get("maxresults")
        try:
            limit = int(size) if size else MAX_PAGE
        except ValueError:
            raise KvError(400, "BadParameter", "maxresults must be an integer.") from None
        if not 1 <= limit <= MAX_PAGE:
            raise KvError(400, "BadParameter", f"maxresults must be between 1 and {MAX_PAGE}.")
        token = query.get("$skiptoken")
        after = base64.urlsafe_b64decode(token.encode()).decode() if token else ""
        remaining = [body for key, body in rows if key > after]
        page = remaining[:limit]
        next_link = None
        if len(remaining) > limit:
            last = [key for key, _ in rows if key > after][limit - 1]
            marker = base64.urlsafe_b64encode(last.encode()).decode()
            api = query.get("api-version", "")
            next_link = f"{self.base_url}{path}?api-version={api}&$skiptoken={marker}&maxresults={limit}"
        return {"value": page, "nextLink": next_link}

    def list_secrets(self, query: Mapping[str, str]) -> Json:
        with self._lock:
            now = time.monotonic()
            rows = sorted(
                (key, self._item(secret, secret.latest, with_version=False))
                for key, secret in self._secrets.items()
                if secret.ready_at <= now
            )
        return self._page(rows, "/secrets", query)

    def list_versions(self, name: str, query: Mapping[str, str]) -> Json:
        key = self.check_name(name)
        with self._lock:
            secret = self._visible(key, name)
            rows = sorted(
                (version.id, self._item(secret, version, with_version=True)) for version in secret.versions
            )
        return self._page(rows, f"/secrets/{secret.name}/versions", query)

    def list_deleted(self, query: Mapping[str, str]) -> Json:
        with self._lock:
            for key in list(self._deleted):
                self._settle(key)
            now = time.monotonic()
            rows = sorted(
                (key, self._deleted_bundle(deleted, item=True))
                for key, deleted in self._deleted.items()
                if deleted.ready_at <= now
            )
        return self._page(rows, "/deletedsecrets", query)
