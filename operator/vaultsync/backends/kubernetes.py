"""Kubernetes backend: Secrets of one namespace, in the natural Secret type of each secret type.

A path is the Secret's name (a DNS subdomain; no ``/``). The ownership mark is the label
``managed-by: vaultsync`` plus the annotations ``vaultsync.io/owner`` and ``vaultsync.io/type``
(an owner ``<ns>/<name>`` is not a valid label value). Compare-and-set is the API server's
``resourceVersion`` precondition; deletes are immediate (Kubernetes has no soft delete);
changes are noticed with one paginated LIST whose items' ``resourceVersion`` are the tokens.
Every call goes through ``backends.kube_secrets``, which the Secret targets of ManagedSecrets
use too; this module adds only what a vault backend needs on top.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from vaultsync.backends.errors import BackendError, InvalidConfig, NotFound
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
    RemoteMetadata,
    RemoteSecret,
    changes_between,
    check_ownership,
    metadata_from_marks,
)
from vaultsync.backends.kube_errors import api_error
from vaultsync.backends.kube_http import KubeHttp, KubeStatusError
from vaultsync.backends.kube_secrets import KubeSecrets, StoredSecret
from vaultsync.backends.registry import BackendContext
from vaultsync.backends.retry import RetryPolicy
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


def _secret_name(path: str) -> str:
    name = path.strip("/")
    if len(name) > 253 or not _NAME.fullmatch(name):
        raise InvalidConfig("path: a Kubernetes Secret name must be a lowercase DNS subdomain (no '/')")
    return name


def _marks(secret: StoredSecret) -> dict[str, str]:
    return {**secret.labels, **secret.annotations}


def _metadata(secret: StoredSecret) -> RemoteMetadata:
    return metadata_from_marks(_marks(secret), updated_at=None)


class _VaultSecrets:
    """The backend as a user of :class:`KubeSecrets`: a Secret is a vault entry that others may
    label, so a rewrite keeps their labels and a new type recreates the Secret."""

    keeps_existing_metadata = True
    recreates_on_type_change = True

    def __init__(self, namespace: str, calls: CallCounter) -> None:
        self._namespace = namespace
        self._calls = calls

    def calling(self, operation: str) -> None:
        self._calls.add(operation)

    def refusal(self, error: KubeStatusError, operation: str, name: str) -> BackendError:
        return self.translate(error, _VERB_OF.get(operation, operation), name)

    def translate(self, error: KubeStatusError, verb: str, what: str) -> BackendError:
        return api_error(error, what, missing=f"{verb} secrets in namespace {self._namespace}")

    def require_owner(self, secret: StoredSecret, owner: str, *, adopt: bool) -> None:
        check_ownership(secret.name, _metadata(secret), owner, adopt=adopt)


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
        self._namespace = namespace
        self.calls = CallCounter()
        self._caller = _VaultSecrets(namespace, self.calls)
        self._secrets = KubeSecrets(
            http, namespace, self._caller, timeout=http_timeout, retry=retry or RetryPolicy()
        )

    def _translate(self, error: KubeStatusError, verb: str, what: str) -> BackendError:
        return self._caller.translate(error, verb, what)

    def _live(self, name: str) -> StoredSecret | None:
        secret = self._secrets.read(name)
        return None if secret is None or secret.terminating else secret

    def read(self, path: str) -> RemoteSecret:
        name = _secret_name(path)
        secret = self._live(name)
        if secret is None:
            raise NotFound(f"{name}: not found")
        secret_type = _marks(secret).get(TYPE_KEY) or _TYPE_BY_KUBERNETES_TYPE.get(
            secret.kubernetes_type, "key-value"
        )
        try:
            document = from_kubernetes_data(secret_type, secret.data)
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: data does not decode as a {secret_type} document") from e
        return RemoteSecret(document, secret.resource_version, _metadata(secret))

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
        try:
            kubernetes_type, data = to_kubernetes_data(secret_type, document)
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: document does not fit a {secret_type} Secret ({e})") from e
        payload = self._secrets.payload(name, kubernetes_type, data, annotations={TYPE_KEY: secret_type})
        return self._secrets.write(
            payload, owner=owner, adopt=adopt, over=self._live(name), expected_version=expected_version
        )

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        name = _secret_name(path)
        existing = self._live(name)
        if existing is None:
            raise NotFound(f"{name}: not found")
        self._secrets.delete(existing, owner=owner, adopt=adopt)
        return DeleteResult(restorable=False)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        raise NotFound(f"{_secret_name(path)}: Kubernetes deletes are permanent; nothing to restore")

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        wanted = set(paths) if paths is not None else None
        tokens = {
            name: version
            for name, version in self._secrets.resource_versions().items()
            if wanted is None or name in wanted
        }
        return changes_between(since, tokens, paths)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig("kubernetes: Secrets have no enable switch")

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        checked: list[str] = []
        missing: list[str] = []
        for verb in ("get", "list", "create", "update", "delete"):
            name = f"{verb} secrets in namespace {self._namespace}"
            checked.append(name)
            if not self._secrets.allowed(verb):
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
