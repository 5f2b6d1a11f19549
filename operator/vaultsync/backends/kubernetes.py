"""Kubernetes backend: Secrets of one namespace, in the natural Secret type of each secret type.

A path is the Secret's name (a DNS subdomain; no ``/``). The ownership mark is the label
``managed-by: vaultsync`` plus the annotations ``vaultsync.io/owner`` and ``vaultsync.io/type``
(an owner ``<ns>/<name>`` is not a valid label value). Compare-and-set is the API server's
``resourceVersion`` precondition; deletes are immediate (Kubernetes has no soft delete);
changes are noticed with one paginated LIST whose items' ``resourceVersion`` are the tokens.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from typing import Any

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
    MANAGED_BY_KEY,
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
from vaultsync.backends.kube_http import KubeHttp, KubeStatusError, resource_path
from vaultsync.backends.limits import check_kubernetes_secret
from vaultsync.backends.registry import BackendContext
from vaultsync.backends.retry import RetryPolicy, call_with_retry
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.formats import (
    KUBERNETES_BASIC_AUTH,
    KUBERNETES_TLS,
    from_kubernetes_data,
    to_kubernetes_data,
)

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TYPE_BY_KUBERNETES_TYPE = {KUBERNETES_TLS: "certificate", KUBERNETES_BASIC_AUTH: "basic-auth"}
_VERB_OF = {"read": "get", "list": "list", "create": "create", "replace": "update", "delete": "delete"}
PAGE_SIZE = 500
_OBJECT_ANSWERS = {"read", "list", "create", "replace"}


def _secret_name(path: str) -> str:
    name = path.strip("/")
    if len(name) > 253 or not _NAME.fullmatch(name):
        raise InvalidConfig("path: a Kubernetes Secret name must be a lowercase DNS subdomain (no '/')")
    return name


def _retry_after(error: KubeStatusError) -> float | None:
    value = (error.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def api_error(error: KubeStatusError, what: str, *, missing: str) -> BackendError:
    """The backend error for an API server answer; ``missing`` names the permission a 401/403 lacks.

    Shared with the handlers' own Kubernetes calls, so every API refusal means the same everywhere.
    """
    status = error.status or 0
    if status == 404:
        return NotFound(f"{what}: not found")
    if status in (401, 403):
        return PermissionDenied(f"{what}: forbidden", missing=[missing])
    if status == 409:
        return Conflict(f"{what}: resourceVersion is not the expected one")
    if status == 429:
        return Throttled(f"{what}: throttled", retry_after=_retry_after(error))
    if status == 413:
        return InvalidConfig(f"{what}: request too large for the API server (HTTP 413)")
    if status in (400, 422):
        return InvalidConfig(f"{what}: rejected by the API server (HTTP {status})")
    return Unavailable(f"{what}: API server failed (HTTP {status})")


def _meta(secret: Mapping[str, Any]) -> dict[str, Any]:
    return dict(secret.get("metadata") or {})


class KubernetesBackend:
    """Secrets of ``namespace`` through one shared :class:`KubeHttp`."""

    capabilities = Capabilities(soft_delete=False)

    def __init__(
        self,
        http: KubeHttp,
        namespace: str,
        *,
        http_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = http
        self._namespace = namespace
        self._timeout = http_timeout
        self._retry = retry or RetryPolicy()
        self.calls = CallCounter()

    def _path(self, name: str | None = None) -> str:
        return resource_path("", "v1", "secrets", self._namespace, name)

    def _call(self, operation: str, what: str, method: str, path: str, **options: Any) -> Any:
        verb = _VERB_OF.get(operation, operation)

        def once() -> Any:
            self.calls.add(operation)
            try:
                result = self._http.request(method, path, timeout=self._timeout, **options)
            except Unavailable:
                raise
            except KubeStatusError as e:
                raise self._translate(e, verb, what) from e
            if operation in _OBJECT_ANSWERS and not isinstance((result or {}).get("metadata"), dict):
                raise Unavailable(f"{what}: the API server's answer is not a Secret or a list")
            return result

        return call_with_retry(once, self._retry)

    def _translate(self, error: KubeStatusError, verb: str, what: str) -> BackendError:
        return api_error(error, what, missing=f"{verb} secrets in namespace {self._namespace}")

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            secret: dict[str, Any] = self._call("read", name, "GET", self._path(name))
        except NotFound:
            return None
        return None if _meta(secret).get("deletionTimestamp") else secret

    @staticmethod
    def _marks(secret: Mapping[str, Any]) -> dict[str, str]:
        meta = _meta(secret)
        return {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}

    def read(self, path: str) -> RemoteSecret:
        name = _secret_name(path)
        secret = self._get(name)
        if secret is None:
            raise NotFound(f"{name}: not found")
        marks = self._marks(secret)
        secret_type = marks.get(TYPE_KEY) or _TYPE_BY_KUBERNETES_TYPE.get(
            secret.get("type") or "", "key-value"
        )
        data = {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
        try:
            document = from_kubernetes_data(secret_type, data)
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: data does not decode as a {secret_type} document") from e
        metadata = metadata_from_marks(marks, updated_at=None)
        return RemoteSecret(document, str(_meta(secret).get("resourceVersion")), metadata)

    def _data(self, name: str, secret_type: str, document: Document) -> tuple[str, dict[str, bytes]]:
        """The Secret type and data of ``document``, refused before any call when too large."""
        try:
            kubernetes_type, data = to_kubernetes_data(secret_type, document)
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: document does not fit a {secret_type} Secret ({e})") from e
        check_kubernetes_secret(self._namespace, name, data)
        return kubernetes_type, data

    def _body(
        self,
        name: str,
        encoded: tuple[str, dict[str, bytes]],
        secret_type: str,
        owner: str,
        existing: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        kubernetes_type, data = encoded
        meta = _meta(existing) if existing else {}
        labels = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        labels[MANAGED_BY_KEY] = ownership_marks(owner)[MANAGED_BY_KEY]
        annotations.update({OWNER_KEY: owner, TYPE_KEY: secret_type})
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": self._namespace,
            "labels": labels,
            "annotations": annotations,
        }
        if meta.get("resourceVersion"):
            metadata["resourceVersion"] = meta["resourceVersion"]
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": kubernetes_type,
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
        }

    def _create(self, name: str, body: Mapping[str, Any]) -> str:
        created = self._call("create", name, "POST", self._path(), body=body)
        return str(_meta(created).get("resourceVersion"))

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
        name = _secret_name(path)
        encoded = self._data(name, secret_type, document)
        existing = self._get(name)
        if existing is None:
            if expected_version is not None:
                raise Conflict(f"{name}: expected version {expected_version} but the secret does not exist")
            return self._create(name, self._body(name, encoded, secret_type, owner, None))
        check_ownership(name, metadata_from_marks(self._marks(existing)), owner, adopt=adopt)
        current = str(_meta(existing).get("resourceVersion"))
        if expected_version is not None and expected_version != current:
            raise Conflict(f"{name}: expected version {expected_version}, API server has {current}")
        body = self._body(name, encoded, secret_type, owner, existing)
        if body["type"] != existing.get("type"):
            # The type of a Secret is immutable: replace it, guarded by the version we checked.
            self._delete_at(name, current)
            del body["metadata"]["resourceVersion"]
            return self._create(name, body)
        replaced = self._call("replace", name, "PUT", self._path(name), body=body)
        return str(_meta(replaced).get("resourceVersion"))

    def _delete_at(self, name: str, resource_version: str) -> None:
        options = {"preconditions": {"resourceVersion": resource_version}}
        self._call("delete", name, "DELETE", self._path(name), body=options)

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        name = _secret_name(path)
        existing = self._get(name)
        if existing is None:
            raise NotFound(f"{name}: not found")
        check_ownership(name, metadata_from_marks(self._marks(existing)), owner, adopt=adopt)
        self._delete_at(name, str(_meta(existing).get("resourceVersion")))
        return DeleteResult(restorable=False)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        raise NotFound(f"{_secret_name(path)}: Kubernetes deletes are permanent; nothing to restore")

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        wanted = set(paths) if paths is not None else None
        tokens: dict[str, str] = {}
        token: str | None = None
        while True:
            query: dict[str, Any] = {"limit": PAGE_SIZE, **({"continue": token} if token else {})}
            page = self._call("list", "list", "GET", self._path(), query=query)
            for item in page.get("items") or []:
                meta = _meta(item)
                name = meta.get("name")
                if (wanted is None or name in wanted) and not meta.get("deletionTimestamp"):
                    tokens[str(name)] = str(meta.get("resourceVersion"))
            token = _meta(page).get("continue")
            if not token:
                break
        return changes_between(since, tokens, paths)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig("kubernetes: Secrets have no enable switch")

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        checked: list[str] = []
        missing: list[str] = []
        for verb in ("get", "list", "create", "update", "delete"):
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {"namespace": self._namespace, "verb": verb, "resource": "secrets"}
                },
            }
            answer = self._call(
                "access-review",
                "SelfSubjectAccessReview",
                "POST",
                resource_path("authorization.k8s.io", "v1", "selfsubjectaccessreviews"),
                body=review,
            )
            name = f"{verb} secrets in namespace {self._namespace}"
            checked.append(name)
            if not ((answer or {}).get("status") or {}).get("allowed"):
                missing.append(name)
        return PermissionReport(checked=checked, missing=missing)

    def close(self) -> None:
        """The client belongs to the caller, which closes it."""


def from_spec(
    spec: Mapping[str, Any], credentials: Credentials, context: BackendContext
) -> KubernetesBackend:
    """Build the backend from ``spec.provider.kubernetes``; needs ``context.kube_http``."""
    if context.kube_http is None:
        raise InvalidConfig("kubernetes: no Kubernetes API client was supplied")
    namespace = spec.get("namespace") or context.profile_namespace
    if not namespace:
        raise InvalidConfig("kubernetes.namespace: required when the profile's namespace is unknown")
    return KubernetesBackend(
        context.kube_http, namespace, http_timeout=context.http_timeout, retry=context.retry
    )
