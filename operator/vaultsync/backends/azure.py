"""Azure Key Vault backend: secrets named by a reversible mapping of the path.

The document is stored as JSON with the content type ``application/vnd.vaultsync+json; type=…``
(``vaultsync.secrets.formats``). Ownership, and a per-write revision nonce, are tags of the
current version. Key Vault has no conditional write, so compare-and-set reads the current
version first and is **not atomic** (``capabilities.atomic_compare_and_set`` is False). Deletes
are soft when the vault has soft-delete on (retention is a vault setting, reported back as
``restorable_until``); ``recovery_days=0`` also purges. The enabled flag of the current version
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
from azure.core.pipeline.transport import RequestsTransport
from azure.keyvault.secrets import SecretClient, SecretProperties
from urllib3.util.retry import Retry

from vaultsync.backends.errors import (
    BackendError,
    Conflict,
    InvalidConfig,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
)
from vaultsync.backends.interface import (
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
from vaultsync.backends.pools import pooled_session
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
POLL_INTERVAL = 0.25
POLL_ATTEMPTS = 120
NO_RETRY = Retry(total=False, redirect=False, raise_on_status=False)


def _translate(error: Exception, permission: str, what: str) -> BackendError:
    if isinstance(error, azure_errors.ResourceNotFoundError):
        return NotFound(f"{what}: not found")
    if isinstance(error, azure_errors.ClientAuthenticationError):
        return PermissionDenied(f"{what}: not authorised", missing=[f"secrets/{permission}"])
    if isinstance(error, azure_errors.ResourceExistsError):
        return Conflict(f"{what}: conflicts with the vault's state (deleted but recoverable?)")
    if isinstance(error, (azure_errors.ServiceRequestError, azure_errors.ServiceResponseError)):
        return Unavailable(f"{what}: Key Vault unreachable ({type(error).__name__})")
    if isinstance(error, azure_errors.HttpResponseError):
        status = error.status_code or 0
        code = getattr(error.error, "code", None) or ""
        if status == 403 and code == "Forbidden" and "disabled" in str(error.message).lower():
            return NotFound(f"{what}: the secret is disabled")
        if status in (401, 403):
            return PermissionDenied(f"{what}: forbidden", missing=[f"secrets/{permission}"])
        if status == 429:
            headers: Mapping[str, str] = getattr(error.response, "headers", None) or {}
            retry_after = headers.get("Retry-After")
            return Throttled(
                f"{what}: throttled",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if status == 409:
            return Conflict(f"{what}: conflicts with the vault's state")
        if status in (400, 422):
            return InvalidConfig(f"{what}: rejected by Key Vault (HTTP {status} {code})")
        return Unavailable(f"{what}: Key Vault failed (HTTP {status})")
    return Unavailable(f"{what}: {type(error).__name__}")


class AzureBackend:
    """The secrets of one key vault, through one shared (thread-safe) ``SecretClient``."""

    capabilities = Capabilities(soft_delete=True, atomic_compare_and_set=False, can_disable=True)

    def __init__(self, client: SecretClient, *, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self.calls = CallCounter()

    def _call(
        self, operation: str, permission: str, what: str, call: Callable[[], T], *, count: bool = True
    ) -> T:
        def once() -> T:
            if count:
                self.calls.add(operation)
            try:
                return call()
            except azure_errors.AzureError as e:
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
        return None, max(versions, key=lambda props: props.created_on or props.updated_on or _EPOCH)

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
        marks = dict(props.tags or {})
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
            check_ownership(name, metadata_from_marks(props.tags), owner, adopt=adopt)
            if expected_version is not None and expected_version != props.version:
                raise Conflict(f"{name}: expected version {expected_version}, Key Vault has {props.version}")
            enabled = bool(props.enabled)
        tags = {**ownership_marks(owner), TYPE_KEY: secret_type, REVISION_KEY: uuid.uuid4().hex[:16]}
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
        check_ownership(name, metadata_from_marks(found[1].tags), owner, adopt=adopt)
        poller = self._call(
            "delete",
            "delete",
            name,
            lambda: self._client.begin_delete_secret(name, _polling_interval=POLL_INTERVAL),
        )
        deleted = poller.result()
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
        poller = self._call(
            "recover",
            "recover",
            name,
            lambda: self._client.begin_recover_deleted_secret(name, _polling_interval=POLL_INTERVAL),
        )
        poller.result()

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        wanted = {self._name(path): path for path in paths} if paths is not None else None
        tokens: dict[str, str] = {}
        for props in self._list_all():
            name = props.name or ""
            path = wanted.get(name) if wanted is not None else _path_or_none(name)
            if path is not None:
                revision = (props.tags or {}).get(REVISION_KEY, "")
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
        check_ownership(name, metadata_from_marks(props.tags), owner, adopt=False)
        tags = {**(props.tags or {}), REVISION_KEY: uuid.uuid4().hex[:16]}
        self._call(
            "update",
            "set",
            name,
            lambda: self._client.update_secret_properties(name, props.version, enabled=enabled, tags=tags),
        )

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
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
        for permission, call in probes.items():
            try:
                self._call(f"probe-{permission}", permission, "permission probe", call)
            except PermissionDenied as denied:
                missing.extend(denied.missing)
            except (NotFound, Conflict, InvalidConfig):
                pass  # authorised, then failed on the absent probe secret
        return PermissionReport(checked=[f"secrets/{p}" for p in probes], missing=missing)

    def close(self) -> None:
        self._client.close()


def _path_or_none(name: str) -> str | None:
    try:
        return path_for_azure_name(name)
    except SecretModelError:
        return None


def from_spec(spec: Mapping[str, Any], credentials: Credentials, context: BackendContext) -> AzureBackend:
    """Build the backend from ``spec.provider.azure``; credential ``clientSecret`` for that auth."""
    from azure.identity import ClientSecretCredential, WorkloadIdentityCredential  # noqa: PLC0415

    vault_url = spec.get("vaultUrl")
    auth = spec.get("auth") or {}
    if not vault_url:
        raise InvalidConfig("azure.vaultUrl: required")
    authority = {"authority": spec["authorityHost"]} if spec.get("authorityHost") else {}
    credential: Any
    if list(auth) == ["clientSecret"]:
        options = auth["clientSecret"] or {}
        if not options.get("tenantId") or not options.get("clientId") or "clientSecret" not in credentials:
            raise InvalidConfig(
                "azure.auth.clientSecret: needs tenantId, clientId and a clientSecret reference"
            )
        credential = ClientSecretCredential(
            options["tenantId"], options["clientId"], credentials["clientSecret"], **authority
        )
    elif list(auth) == ["workloadIdentity"]:
        options = auth["workloadIdentity"] or {}
        if not options.get("tenantId") or not options.get("clientId"):
            raise InvalidConfig("azure.auth.workloadIdentity: needs tenantId and clientId")
        token_file = {"token_file_path": options["tokenPath"]} if options.get("tokenPath") else {}
        credential = WorkloadIdentityCredential(
            tenant_id=options["tenantId"], client_id=options["clientId"], **token_file, **authority
        )
    else:
        raise InvalidConfig("azure.auth: set exactly one of clientSecret, workloadIdentity")
    client = SecretClient(
        vault_url,
        credential,
        verify_challenge_resource=not spec.get("disableChallengeResourceVerification", False),
        retry_total=0,
        connection_timeout=context.http_timeout,
        read_timeout=context.http_timeout,
        # azure-core's own session pools 10 connections; retries stay off as retry_total says.
        transport=RequestsTransport(session=pooled_session(context.pool_size, NO_RETRY), session_owner=True),
    )
    return AzureBackend(client, retry=context.retry)
