"""The one place where Kubernetes Secrets are read, created, replaced and deleted.

Two things store Secrets: the kubernetes vault backend (``backends.kubernetes``) and the
``spec.kubernetesSecrets`` targets of a ManagedSecret (``sync.k8s_targets``). Both go through
:class:`KubeSecrets`, so every Secret is written the same way: its size is checked before
anything is sent, it carries the ownership marks (label ``managed-by: vaultsync``, annotation
``vaultsync.io/owner``), a Secret that is not ours is left alone unless adopting, every replace
and delete has a ``resourceVersion`` precondition, and every API refusal goes through
:func:`~vaultsync.backends.kube_errors.api_error`.

What rightly differs between the two callers is a :class:`SecretCaller` each passes in: which
Secrets count as ours, how errors name a call, what is counted, and how a rewrite treats the
labels and the type the Secret already has.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vaultsync.backends.errors import BackendError, Conflict, NotFound, Unavailable
from vaultsync.backends.interface import MANAGED_BY_KEY, OWNER_KEY, ownership_marks
from vaultsync.backends.kube_http import (
    SELF_ACCESS_REVIEWS,
    KubeHttp,
    KubeStatusError,
    review_allows,
    secret_path,
    self_access_review,
)
from vaultsync.backends.limits import check_kubernetes_secret
from vaultsync.backends.retry import RetryPolicy, call_with_retry

PAGE_SIZE = 500
ONE_TRY = RetryPolicy(attempts=1)
_OBJECT_ANSWERS = {"read", "list", "create", "replace"}


@dataclass(frozen=True)
class StoredSecret:
    """A Secret as the API server holds it, its data decoded."""

    name: str
    resource_version: str
    kubernetes_type: str
    data: dict[str, bytes] = field(repr=False)
    labels: dict[str, str]
    annotations: dict[str, str]
    terminating: bool
    """It has a ``deletionTimestamp``: finalizers hold it until they are done."""

    @classmethod
    def from_object(cls, secret: Mapping[str, Any]) -> StoredSecret:
        meta = secret.get("metadata") or {}
        return cls(
            name=str(meta.get("name")),
            resource_version=str(meta.get("resourceVersion")),
            kubernetes_type=str(secret.get("type") or ""),
            data={key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()},
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
            terminating=bool(meta.get("deletionTimestamp")),
        )


@dataclass(frozen=True)
class SecretPayload:
    """What one write stores, its size already checked: made by :meth:`KubeSecrets.payload`."""

    name: str
    kubernetes_type: str
    data: Mapping[str, bytes] = field(repr=False)
    labels: Mapping[str, str]
    """The caller's own labels; the ownership mark goes on top."""
    annotations: Mapping[str, str]
    """The caller's own annotations; the owner annotation goes on top."""


class SecretCaller(Protocol):
    """What differs between the users of :class:`KubeSecrets`."""

    @property
    def keeps_existing_metadata(self) -> bool:
        """A rewrite keeps the labels and annotations already on the Secret (under the payload's);
        otherwise the Secret ends up with exactly the payload's and the ownership marks."""

    @property
    def recreates_on_type_change(self) -> bool:
        """A new Secret type deletes the Secret (at the version just checked) and creates it again;
        otherwise the API server's refusal to change the type in place is a :class:`Conflict`."""

    def calling(self, operation: str) -> None:
        """Told before each call is sent (``read``, ``create``, ``replace``, ``delete``, ``list``,
        ``access-review``); a throttled call retried is told again."""

    def refusal(self, error: KubeStatusError, operation: str, name: str) -> BackendError:
        """The error for the API server's refusal of ``operation`` on ``name``, in the caller's words."""

    def require_owner(self, secret: StoredSecret, owner: str, *, adopt: bool) -> None:
        """:class:`~vaultsync.backends.errors.NotOwned` unless ``secret`` is ``owner``'s or ``adopt``."""


def _version(answer: Mapping[str, Any]) -> str:
    return str(answer["metadata"].get("resourceVersion"))


class KubeSecrets:
    """The Secrets of one namespace, for one caller."""

    def __init__(
        self,
        http: KubeHttp,
        namespace: str,
        caller: SecretCaller,
        *,
        timeout: float | None = None,
        retry: RetryPolicy = ONE_TRY,
    ) -> None:
        self._http = http
        self.namespace = namespace
        self._caller = caller
        self._timeout = timeout
        self._retry = retry

    def payload(
        self,
        name: str,
        kubernetes_type: str,
        data: Mapping[str, bytes],
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> SecretPayload:
        """What a write of ``name`` would store; :class:`~vaultsync.backends.limits.TooLarge`,
        before anything is sent, when the data does not fit a Secret."""
        check_kubernetes_secret(self.namespace, name, data)
        return SecretPayload(name, kubernetes_type, dict(data), dict(labels or {}), dict(annotations or {}))

    def read(self, name: str) -> StoredSecret | None:
        """The Secret, or None when there is none."""
        try:
            found = self._call("read", name, "GET", self._path(name))
        except NotFound:
            return None
        return StoredSecret.from_object(found)

    def write(
        self,
        payload: SecretPayload,
        *,
        owner: str,
        adopt: bool,
        over: StoredSecret | None,
        expected_version: str | None = None,
    ) -> str:
        """Creates the Secret, or replaces ``over`` (the Secret as the caller read it) if it is
        ``owner``'s and still at that version; returns the new resourceVersion. With
        ``expected_version``, ``over`` must also be at that version (compare-and-set)."""
        described = self._describe(payload.name)
        if over is None:
            if expected_version is not None:
                raise Conflict(f"{described}: expected version {expected_version} but it does not exist")
            return self._create(self._body(payload, owner, kept=None))
        self._caller.require_owner(over, owner, adopt=adopt)
        if expected_version is not None and expected_version != over.resource_version:
            current = over.resource_version
            raise Conflict(f"{described}: expected version {expected_version}, the API server has {current}")
        body = self._body(payload, owner, kept=over if self._caller.keeps_existing_metadata else None)
        if self._caller.recreates_on_type_change and payload.kubernetes_type != over.kubernetes_type:
            # The type of a Secret is immutable: replace it, guarded by the version we checked.
            self._delete_at(over)
            return self._create(body)
        body["metadata"]["resourceVersion"] = over.resource_version
        return _version(self._call("replace", payload.name, "PUT", self._path(payload.name), body=body))

    def delete(self, secret: StoredSecret, *, owner: str, adopt: bool) -> None:
        """Deletes ``secret`` if it is ``owner``'s and still at the version read."""
        self._caller.require_owner(secret, owner, adopt=adopt)
        self._delete_at(secret)

    def resource_versions(self) -> dict[str, str]:
        """name -> resourceVersion of every Secret not being deleted, by one paginated LIST."""
        versions: dict[str, str] = {}
        token: str | None = None
        while True:
            query: dict[str, Any] = {"limit": PAGE_SIZE, **({"continue": token} if token else {})}
            page = self._call("list", "list", "GET", self._path(), query=query)
            for item in page.get("items") or []:
                meta = item.get("metadata") or {}
                if not meta.get("deletionTimestamp"):
                    versions[str(meta.get("name"))] = str(meta.get("resourceVersion"))
            token = page["metadata"].get("continue")
            if not token:
                return versions

    def allowed(self, verb: str) -> bool:
        """Whether the API server lets this client ``verb`` the namespace's Secrets."""
        review = self_access_review({"namespace": self.namespace, "verb": verb, "resource": "secrets"})
        answer = self._call(
            "access-review", "SelfSubjectAccessReview", "POST", SELF_ACCESS_REVIEWS, body=review
        )
        return review_allows(answer)

    def _path(self, name: str | None = None) -> str:
        return secret_path(self.namespace, name)

    def _describe(self, name: str) -> str:
        return f"Secret {self.namespace}/{name}"

    def _body(self, payload: SecretPayload, owner: str, *, kept: StoredSecret | None) -> dict[str, Any]:
        marks = ownership_marks(owner)
        labels = {**(kept.labels if kept else {}), **payload.labels}
        annotations = {**(kept.annotations if kept else {}), **payload.annotations}
        labels[MANAGED_BY_KEY] = marks[MANAGED_BY_KEY]
        annotations[OWNER_KEY] = marks[OWNER_KEY]
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": payload.name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "type": payload.kubernetes_type,
            "data": {key: base64.b64encode(value).decode() for key, value in payload.data.items()},
        }

    def _create(self, body: Mapping[str, Any]) -> str:
        name = body["metadata"]["name"]
        return _version(self._call("create", name, "POST", self._path(), body=body))

    def _delete_at(self, secret: StoredSecret) -> None:
        options = {"preconditions": {"resourceVersion": secret.resource_version}}
        self._call("delete", secret.name, "DELETE", self._path(secret.name), body=options)

    def _call(self, operation: str, name: str, method: str, path: str, **options: Any) -> Any:
        def once() -> Any:
            self._caller.calling(operation)
            try:
                answer = self._http.request(method, path, timeout=self._timeout, **options)
            except KubeStatusError as e:
                raise self._refused(e, operation, name) from e
            if operation in _OBJECT_ANSWERS and not (
                isinstance(answer, dict) and isinstance(answer.get("metadata"), dict)
            ):
                raise Unavailable(f"{name}: the API server's answer is not a Secret or a list")
            return answer

        return call_with_retry(once, self._retry)

    def _refused(self, error: KubeStatusError, operation: str, name: str) -> BackendError:
        if error.status == 404 and operation == "read":
            return NotFound(f"{self._describe(name)} not found")
        if error.status == 409 and operation in ("create", "replace"):
            return Conflict(f"{self._describe(name)} changed while writing")
        if error.status == 422 and operation == "replace" and not self._caller.recreates_on_type_change:
            return Conflict(f"{self._describe(name)} cannot change type in place; delete it first")
        return self._caller.refusal(error, operation, name)
