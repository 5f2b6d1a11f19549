"""Azure Key Vault backend: secrets named by a reversible mapping of the path.

The document is stored as JSON with the content type ``application/vnd.vaultsync+json; type=…``
(``vaultsync.secrets.formats``); Key Vault compares names without case, so paths differing only
in case are one secret. Ownership, and a per-write revision nonce, are tags of the current
version; a version written outside vaultsync has none and inherits the ownership of the newest
marked version. Key Vault has no conditional write, so compare-and-set reads the current
version first and is **not atomic** (``capabilities.atomic_compare_and_set`` is False). Deletes
are soft when the vault has soft-delete on (retention is a vault setting, reported back as
``restorable_until``) and complete asynchronously: delete and restore wait for them; ``recovery_days=0``
also purges. The enabled flag of the current version
is the deactivation switch. Changes are noticed by listing secret properties (25 per page):
the token is the current version's ``updated`` time plus its revision tag.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core import exceptions as azure_errors
from azure.keyvault.secrets import SecretClient, SecretProperties

from vaultsync.backends.azure_client import POLL_ATTEMPTS, POLL_INTERVAL, build_client, finish
from vaultsync.backends.azure_client import translate as _translate
from vaultsync.backends.errors import (
    Conflict,
    InvalidConfig,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from vaultsync.backends.interface import (
    MANAGED_BY_KEY,
    MANAGED_BY_VALUE,
    OWNER_KEY,
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
from vaultsync.backends.limits import AZURE_SECRET_VALUE_BYTES, check_size, utf8_size
from vaultsync.backends.paths import check_path
from vaultsync.backends.registry import BackendContext
from vaultsync.backends.retry import RetryPolicy, call_with_retry
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.formats import (
    azure_name_for_path,
    from_azure_value,
    path_for_azure_name,
    to_azure_value,
)

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REVISION_KEY = "vaultsync.io/revision"
PROBE_NAME = "vaultsync-permission-probe"


class AzureBackend:
    """The secrets of one key vault, through one shared (thread-safe) ``SecretClient``."""

    capabilities = Capabilities(soft_delete=True, atomic_compare_and_set=False, can_disable=True)

    def __init__(
        self,
        client: SecretClient,
        *,
        retry: RetryPolicy | None = None,
        closers: Collection[Callable[[], None]] = (),
    ) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self._closers = list(closers)
        """Run by ``close``: the credential's own HTTP session, the CA bundle file."""
        self.calls = CallCounter()

    def _call(
        self, operation: str, permission: str, what: str, call: Callable[[], T], *, count: bool = True
    ) -> T:
        def once() -> T:
            if count:
                self.calls.add(operation)
            try:
                return call()
            except (azure_errors.AzureError, ValueError) as e:
                raise _translate(e, permission, what) from e

        return call_with_retry(once, self._retry)

    @staticmethod
    def _name(path: str) -> str:
        try:
            return azure_name_for_path(check_path(path))
        except SecretModelError as e:
            raise InvalidConfig("path: cannot be mapped to an Azure secret name") from e

    def _properties(self, name: str) -> tuple[str | None, SecretProperties] | None:
        """(value, properties) of the current version; value None when it is disabled."""
        try:
            secret = self._call("get", "get", name, lambda: self._client.get_secret(name))
            return secret.value, secret.properties
        except NotFound as missing:
            if "disabled" not in missing.message:
                return None
        versions = self._call(
            "list-versions", "list", name, lambda: list(self._client.list_properties_of_secret_versions(name))
        )
        if not versions:
            return None
        return None, max(versions, key=_age)

    def _marks(self, name: str, props: SecretProperties) -> dict[str, str]:
        """Tags of the current version, with the ownership of the newest version that was marked.

        Tags belong to versions, and a version written outside vaultsync (the portal, ``az``)
        carries none: such an edit is drift on our secret, not a secret of nobody's.
        """
        tags = dict(props.tags or {})
        if tags.get(MANAGED_BY_KEY):
            return tags
        versions = self._call(
            "list-versions", "list", name, lambda: list(self._client.list_properties_of_secret_versions(name))
        )
        marked = [v for v in versions if (v.tags or {}).get(MANAGED_BY_KEY) == MANAGED_BY_VALUE]
        if not marked:
            return tags
        newest = max(marked, key=_age).tags or {}
        return {**tags, **{key: newest[key] for key in (MANAGED_BY_KEY, OWNER_KEY) if key in newest}}

    def read(self, path: str) -> RemoteSecret:
        name = self._name(path)
        found = self._properties(name)
        value, props = found if found is not None else (None, None)
        if value is None or props is None:
            raise NotFound(f"{name}: not found or disabled")
        try:
            recorded_type, document = from_azure_value(value, props.content_type)
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: content is not a vaultsync JSON document") from e
        marks = self._marks(name, props)
        if recorded_type and TYPE_KEY not in marks:
            marks[TYPE_KEY] = recorded_type
        metadata = metadata_from_marks(marks, updated_at=props.updated_on, enabled=bool(props.enabled))
        return RemoteSecret(document, str(props.version), metadata)

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
        name = self._name(path)
        value, content_type = to_azure_value(secret_type, document)
        check_size(name, utf8_size(value), AZURE_SECRET_VALUE_BYTES, "an Azure Key Vault secret")
        found = self._properties(name)
        enabled = True
        if found is None:
            if expected_version is not None:
                raise Conflict(f"{name}: expected version {expected_version} but the secret does not exist")
        else:
            props = found[1]
            check_ownership(name, metadata_from_marks(self._marks(name, props)), owner, adopt=adopt)
            if expected_version is not None and expected_version != props.version:
                raise Conflict(f"{name}: expected version {expected_version}, Key Vault has {props.version}")
            enabled = bool(props.enabled)
        tags = {**ownership_marks(owner), TYPE_KEY: secret_type, REVISION_KEY: _revision()}
        written = self._call(
            "set",
            "set",
            name,
            lambda: self._client.set_secret(
                name, value, content_type=content_type, tags=tags, enabled=enabled
            ),
        )
        return str(written.properties.version)

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        name = self._name(path)
        found = self._properties(name)
        if found is None:
            raise NotFound(f"{name}: not found")
        check_ownership(name, metadata_from_marks(self._marks(name, found[1])), owner, adopt=adopt)
        deleted = self._call(
            "delete",
            "delete",
            name,
            lambda: finish(self._client.begin_delete_secret(name, _polling_interval=POLL_INTERVAL)),
        )
        if deleted.recovery_id is None:
            return DeleteResult(restorable=False)
        if recovery_days == 0:
            self._call("purge", "purge", name, lambda: self._client.purge_deleted_secret(name))
            self._wait_until_gone(name)
            return DeleteResult(restorable=False)
        return DeleteResult(restorable=True, restorable_until=deleted.scheduled_purge_date)

    def _wait_until_gone(self, name: str) -> None:
        for _ in range(POLL_ATTEMPTS):
            try:
                self._call("get-deleted", "get", name, lambda: self._client.get_deleted_secret(name))
            except NotFound:
                return
            time.sleep(POLL_INTERVAL)
        raise Unavailable(f"{name}: purge did not finish in time")

    def restore(self, path: str, *, owner: str | None = None) -> None:
        name = self._name(path)
        deleted = self._call("get-deleted", "get", name, lambda: self._client.get_deleted_secret(name))
        if owner is not None:
            check_ownership(name, metadata_from_marks(deleted.properties.tags), owner, adopt=False)
        self._call(
            "recover",
            "recover",
            name,
            lambda: finish(self._client.begin_recover_deleted_secret(name, _polling_interval=POLL_INTERVAL)),
        )

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        # Key Vault names are case-insensitive: a listed "Team--DB" is the secret of path team/db.
        wanted: dict[str, list[str]] | None = None
        if paths is not None:
            wanted = {}
            for path in paths:
                wanted.setdefault(self._name(path).lower(), []).append(path)
        tokens: dict[str, str] = {}
        for props in self._list_all():
            name = props.name or ""
            listed = _path_or_none(name)
            found = wanted.get(name.lower(), []) if wanted is not None else [listed] if listed else []
            revision = (props.tags or {}).get(REVISION_KEY, "")
            for path in found:
                tokens[path] = f"{props.updated_on.isoformat() if props.updated_on else ''}|{revision}"
        return changes_between(since, tokens, paths)

    def _list_all(self) -> list[SecretProperties]:
        """Every secret's properties, one counted call per page.

        A failed page ends Azure's page iterator, so a retry starts the listing over instead of
        going on with a truncated one (which would report the unseen secrets as deleted).
        """

        def listing() -> list[SecretProperties]:
            found: list[SecretProperties] = []
            pages = iter(self._client.list_properties_of_secrets().by_page())
            while True:
                try:
                    page = list(next(pages))
                except StopIteration:
                    return found
                except azure_errors.AzureError:
                    self.calls.add("list")
                    raise
                self.calls.add("list")
                found.extend(page)

        return self._call("list", "list", "list", listing, count=False)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        name = self._name(path)
        found = self._properties(name)
        if found is None:
            raise NotFound(f"{name}: not found")
        props = found[1]
        marks = self._marks(name, props)
        check_ownership(name, metadata_from_marks(marks), owner, adopt=False)
        tags = {**(props.tags or {}), **marks, REVISION_KEY: _revision()}
        self._call(
            "update",
            "set",
            name,
            lambda: self._client.update_secret_properties(name, props.version, enabled=enabled, tags=tags),
        )

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        """Probes each secret permission with a real call on an absent probe name.

        Authorised calls fail with 404 there; a 403 names the missing permission. When the probe
        name exists (someone created it), only get and list are probed: the other probes would
        change it.
        """
        probe = azure_name_for_path(f"{path_prefix.strip('/')}/{PROBE_NAME}".strip("/"))
        probes: dict[str, Callable[[], Any]] = {
            "get": lambda: self._client.get_secret(probe),
            "list": lambda: next(self._client.list_properties_of_secrets().by_page(), None),
            "set": lambda: self._client.update_secret_properties(probe, enabled=True),
            "delete": lambda: self._client.begin_delete_secret(probe),
            "recover": lambda: self._client.begin_recover_deleted_secret(probe),
            "purge": lambda: self._client.purge_deleted_secret(probe),
        }
        missing: list[str] = []
        checked: list[str] = []
        probe_exists = False
        for permission, call in probes.items():
            if probe_exists and permission not in ("get", "list"):
                continue
            checked.append(f"secrets/{permission}")
            try:
                self._call(f"probe-{permission}", permission, "permission probe", call)
                probe_exists = probe_exists or permission == "get"
            except PermissionDenied as denied:
                if not denied.missing:
                    raise  # the credential itself was refused: nothing was verified
                missing.extend(denied.missing)
            except NotFound as absent:
                probe_exists = probe_exists or "disabled" in absent.message
            except (Conflict, InvalidConfig):
                pass  # authorised, then refused for the probe name's state
        return PermissionReport(checked=checked, missing=missing)

    def close(self) -> None:
        self._client.close()
        for closing in self._closers:
            closing()


def _revision() -> str:
    """A per-write nonce that also orders our versions created within one second."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:8]}"


def _age(props: SecretProperties) -> tuple[datetime, str]:
    """Sort key of versions: Key Vault's ``created`` has whole seconds; our revision breaks ties."""
    return props.created_on or props.updated_on or _EPOCH, (props.tags or {}).get(REVISION_KEY, "")


def _path_or_none(name: str) -> str | None:
    try:
        return path_for_azure_name(name)
    except SecretModelError:
        return None


def from_spec(spec: Mapping[str, Any], credentials: Credentials, context: BackendContext) -> AzureBackend:
    """Build the backend from ``spec.provider.azure``; credentials ``clientSecret`` and ``caBundle``."""
    client, closers = build_client(spec, credentials, context)
    return AzureBackend(client, retry=context.retry, closers=closers)
