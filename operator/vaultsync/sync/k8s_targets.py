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

from vaultsync.backends.errors import Conflict, NotFound, NotOwned
from vaultsync.backends.interface import MANAGED_BY_KEY, MANAGED_BY_VALUE, OWNER_KEY
from vaultsync.backends.limits import check_kubernetes_secret
from vaultsync.secrets import formats
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError, kube_error, secret_path

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
        secret = kube.get(secret_path(namespace, name))
    except KubeStatusError as e:
        raise kube_error(e, f"reading Secret {namespace}/{name}") from e
    if secret is None:
        raise NotFound(f"Secret {namespace}/{name} not found")
    metadata = secret.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    return SecretSnapshot(
        data={k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()},
        resource_version=str(metadata.get("resourceVersion")),
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
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "annotations": annotations,
    }
    if expected is not None:
        metadata["resourceVersion"] = expected.resource_version
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": k8s_type,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }
    try:
        if expected is None:
            written = kube.write("POST", secret_path(namespace), body, counted="create/secret")
        else:
            written = kube.write("PUT", secret_path(namespace, name), body, counted="replace/secret")
    except KubeStatusError as e:
        if e.status == 409:
            raise Conflict(f"Secret {namespace}/{name} changed while writing") from e
        if e.status == 422 and expected is not None:
            raise Conflict(f"Secret {namespace}/{name} cannot change type in place; delete it first") from e
        raise kube_error(e, f"writing Secret {namespace}/{name}") from e
    return kube.remember_own_write(
        namespace, name, str(((written or {}).get("metadata") or {}).get("resourceVersion"))
    )


def delete_target(kube: KubeApi, namespace: str, name: str, owner: str) -> bool:
    """Deletes the Secret only if it is ours; returns False when absent or not owned."""
    try:
        snapshot = read_target(kube, namespace, name)
    except NotFound:
        return False
    if not snapshot.managed or snapshot.owner != owner:
        return False
    options = {"preconditions": {"resourceVersion": snapshot.resource_version}}
    try:
        kube.write("DELETE", secret_path(namespace, name), options, counted="delete/secret")
    except KubeStatusError as e:
        if e.status == 404:
            return False
        raise kube_error(e, f"deleting Secret {namespace}/{name}") from e
    return True
