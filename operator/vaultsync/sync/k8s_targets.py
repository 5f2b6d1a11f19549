"""Kubernetes Secret targets of a ManagedSecret: read for drift, write with ownership marks.

Reads and writes go through ``backends.kube_secrets`` (shared with the kubernetes vault backend);
this module adds what is particular to a target: the Secret type, labels and annotations of its
spec, templates (``sync.templating``), counted writes, and the memory of our own writes
(their watch events are not drift). The fingerprint of what a target holds is computed from its
data mapped back to a document (templated targets: an HMAC of the data), so out-of-band edits
show up as drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from vaultsync.api.managedsecret import KubernetesSecretTarget
from vaultsync.backends.errors import BackendError, NotFound, NotOwned
from vaultsync.backends.interface import MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.kube_secrets import KubeSecrets, StoredSecret
from vaultsync.secrets import formats
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError, kube_error

MANAGED_LABEL = "app.kubernetes.io/managed-by"
FINGERPRINT_ANNOTATION = "vaultsync.io/fingerprint"
DATA_FINGERPRINT_ANNOTATION = "vaultsync.io/data-fingerprint"
"""On templated Secrets: HMAC of the data vaultsync wrote, to tell a wanted change from an edit."""

_DOING = MappingProxyType(
    {"read": "reading", "create": "writing", "replace": "writing", "delete": "deleting"}
)


def _managed(secret: StoredSecret) -> bool:
    return secret.labels.get(MANAGED_LABEL) == MANAGED_BY_VALUE


@dataclass(frozen=True)
class SecretSnapshot:
    """A target Secret as read: what drift detection and the next write over it need."""

    secret: StoredSecret

    @property
    def data(self) -> dict[str, bytes]:
        return self.secret.data

    @property
    def resource_version(self) -> str:
        return self.secret.resource_version

    @property
    def managed(self) -> bool:
        return _managed(self.secret)

    @property
    def owner(self) -> str | None:
        return self.secret.annotations.get(OWNER_KEY)

    @property
    def recorded_fingerprint(self) -> str | None:
        """``DATA_FINGERPRINT_ANNOTATION`` of the Secret, when vaultsync rendered it."""
        return self.secret.annotations.get(DATA_FINGERPRINT_ANNOTATION)


@dataclass(frozen=True)
class _TargetSecrets:
    """A target as a user of :class:`KubeSecrets`: its spec names all its labels and annotations,
    a change of type is refused (the Secret must be deleted first), and every write is counted."""

    kube: KubeApi
    namespace: str
    keeps_existing_metadata = False
    recreates_on_type_change = False

    def calling(self, operation: str) -> None:
        if operation != "read":
            self.kube.count(f"{operation}/secret")

    def refusal(self, error: KubeStatusError, operation: str, name: str) -> BackendError:
        return kube_error(error, f"{_DOING[operation]} Secret {self.namespace}/{name}")

    def require_owner(self, secret: StoredSecret, owner: str, *, adopt: bool) -> None:
        if adopt or (_managed(secret) and secret.annotations.get(OWNER_KEY) == owner):
            return
        raise NotOwned(
            f"Secret {self.namespace}/{secret.name} exists and is not managed by {owner}; "
            "set adopt to take it over"
        )


def _secrets(kube: KubeApi, namespace: str) -> KubeSecrets:
    return KubeSecrets(kube.http, namespace, _TargetSecrets(kube, namespace))


def read_target(kube: KubeApi, namespace: str, name: str) -> SecretSnapshot:
    secret = _secrets(kube, namespace).read(name)
    if secret is None:
        raise NotFound(f"Secret {namespace}/{name} not found")
    return SecretSnapshot(secret)


def document_of(secret_type: str, snapshot: SecretSnapshot) -> dict[str, Any]:
    return formats.from_kubernetes_data(secret_type, snapshot.data)


def write_target(
    kube: KubeApi,
    namespace: str,
    name: str,
    *,
    secret_type: str,
    document: Mapping[str, Any],
    owner: str,
    expected: SecretSnapshot | None,
    adopt: bool,
    spec: KubernetesSecretTarget,
    rendered: tuple[Mapping[str, bytes], str] | None = None,
) -> str:
    """Creates or replaces the Secret; returns its new resourceVersion.

    ``rendered`` is (data, data fingerprint) of a templated target: the Secret holds exactly that data.
    """
    if rendered is None:
        k8s_type, data = formats.to_kubernetes_data(secret_type, dict(document))
    else:
        k8s_type, data = formats.KUBERNETES_OPAQUE, dict(rendered[0])
    labels = {**spec.labels, MANAGED_LABEL: MANAGED_BY_VALUE}
    annotations = dict(spec.annotations)
    if rendered is not None:
        annotations[DATA_FINGERPRINT_ANNOTATION] = rendered[1]
    secrets = _secrets(kube, namespace)
    payload = secrets.payload(
        name, spec.secret_type or k8s_type, data, labels=labels, annotations=annotations
    )
    over = expected.secret if expected is not None else None
    version = secrets.write(payload, owner=owner, adopt=adopt, over=over)
    return kube.remember_own_write(namespace, name, version)


def delete_target(kube: KubeApi, namespace: str, name: str, owner: str) -> bool:
    """Deletes the Secret only if it is ours; returns False when absent or not owned."""
    secrets = _secrets(kube, namespace)
    try:
        secret = secrets.read(name)
        if secret is None:
            return False
        secrets.delete(secret, owner=owner, adopt=False)
    except (NotFound, NotOwned):
        return False
    return True
