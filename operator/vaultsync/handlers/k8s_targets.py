"""Kubernetes Secret targets of a ManagedSecret: read for drift, write with ownership marks.

These are richer than the kubernetes vault backend: a chosen Secret type, labels and
annotations, and templates (``handlers.templating``). The fingerprint of what a target holds is
computed from its data mapped back to a document (templated targets: an HMAC of the data), so
out-of-band edits show up as drift.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from vaultsync.backends.errors import Conflict, NotFound, NotOwned
from vaultsync.backends.interface import MANAGED_BY_KEY, MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.limits import check_kubernetes_secret
from vaultsync.handlers.kubeapi import KubeApi, kube_error
from vaultsync.secrets import formats

MANAGED_LABEL = "app.kubernetes.io/managed-by"
FINGERPRINT_ANNOTATION = "vaultsync.io/fingerprint"
DATA_FINGERPRINT_ANNOTATION = "vaultsync.io/data-fingerprint"
"""On templated Secrets: HMAC of the data vaultsync wrote, to tell a wanted change from an edit."""


@dataclass(frozen=True)
class SecretSnapshot:
    data: dict[str, bytes]
    resource_version: str
    managed: bool
    owner: str | None
    recorded_fingerprint: str | None = None
    """``DATA_FINGERPRINT_ANNOTATION`` of the Secret, when vaultsync rendered it."""


def read_target(kube: KubeApi, namespace: str, name: str) -> SecretSnapshot:
    try:
        secret = kube.core.read_namespaced_secret(name, namespace)
    except ApiException as e:
        if e.status == 404:
            raise NotFound(f"Secret {namespace}/{name} not found") from e
        raise kube_error(e, f"reading Secret {namespace}/{name}") from e
    labels = secret.metadata.labels or {}
    annotations = secret.metadata.annotations or {}
    return SecretSnapshot(
        data={k: base64.b64decode(v) for k, v in (secret.data or {}).items()},
        resource_version=secret.metadata.resource_version,
        managed=labels.get(MANAGED_LABEL) == MANAGED_BY_VALUE,
        owner=annotations.get(OWNER_KEY),
        recorded_fingerprint=annotations.get(DATA_FINGERPRINT_ANNOTATION),
    )


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
    spec: Mapping[str, Any],
    rendered: tuple[Mapping[str, bytes], str] | None = None,
) -> str:
    """Creates or replaces the Secret; returns its new resourceVersion.

    ``rendered`` is (data, data fingerprint) of a templated target: the Secret holds exactly that data.
    """
    if rendered is None:
        k8s_type, data = formats.to_kubernetes_data(secret_type, dict(document))
    else:
        k8s_type, data = formats.KUBERNETES_OPAQUE, dict(rendered[0])
    k8s_type = spec.get("secretType") or k8s_type
    check_kubernetes_secret(namespace, name, data)
    if expected is not None and not adopt and (not expected.managed or expected.owner != owner):
        raise NotOwned(
            f"Secret {namespace}/{name} exists and is not managed by {owner}; set adopt to take it over"
        )
    labels = {**(spec.get("labels") or {}), MANAGED_LABEL: MANAGED_BY_VALUE, MANAGED_BY_KEY: MANAGED_BY_VALUE}
    annotations = {**(spec.get("annotations") or {}), OWNER_KEY: owner}
    if rendered is not None:
        annotations[DATA_FINGERPRINT_ANNOTATION] = rendered[1]
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=namespace,
            labels=labels,
            annotations=annotations,
            resource_version=expected.resource_version if expected else None,
        ),
        type=k8s_type,
        data={k: base64.b64encode(v).decode() for k, v in data.items()},
    )
    try:
        if expected is None:
            kube._count("create/secret")
            created = kube.core.create_namespaced_secret(namespace, body)
            return kube.remember_own_write(namespace, name, str(created.metadata.resource_version))
        kube._count("replace/secret")
        replaced = kube.core.replace_namespaced_secret(name, namespace, body)
        return kube.remember_own_write(namespace, name, str(replaced.metadata.resource_version))
    except ApiException as e:
        if e.status == 409:
            raise Conflict(f"Secret {namespace}/{name} changed while writing") from e
        if e.status == 422 and expected is not None:
            raise Conflict(f"Secret {namespace}/{name} cannot change type in place; delete it first") from e
        raise kube_error(e, f"writing Secret {namespace}/{name}") from e


def delete_target(kube: KubeApi, namespace: str, name: str, owner: str) -> bool:
    """Deletes the Secret only if it is ours; returns False when absent or not owned."""
    try:
        snapshot = read_target(kube, namespace, name)
    except NotFound:
        return False
    if not snapshot.managed or snapshot.owner != owner:
        return False
    kube._count("delete/secret")
    try:
        kube.core.delete_namespaced_secret(
            name,
            namespace,
            body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(resource_version=snapshot.resource_version)
            ),
        )
    except ApiException as e:
        if e.status == 404:
            return False
        raise kube_error(e, f"deleting Secret {namespace}/{name}") from e
    return True
