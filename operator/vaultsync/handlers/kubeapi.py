"""The few Kubernetes API calls the operator makes besides kopf's own, in one place.

Synchronous (the ``kubernetes`` client); callers run them in worker threads. Every call
that writes a resource is counted, so tests can prove a steady state costs nothing.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

GROUP, VERSION = "vaultsync.io", "v1alpha1"


class KubeApi:
    """Typed access to the resources the operator reads and writes."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.apps = client.AppsV1Api(api_client)
        self._lock = threading.Lock()
        self.writes: Counter[str] = Counter()
        self._own_writes: dict[tuple[str, str], str] = {}

    def remember_own_write(self, namespace: str, name: str, resource_version: str) -> str:
        """Notes the resourceVersion of a Secret we wrote, so its watch event does not look like drift."""
        with self._lock:
            self._own_writes[(namespace, name)] = resource_version
        return resource_version

    def is_own_write(self, namespace: str, name: str, resource_version: str) -> bool:
        with self._lock:
            return self._own_writes.get((namespace, name)) == resource_version

    def _count(self, what: str) -> None:
        with self._lock:
            self.writes[what] += 1

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return found

    def list_objects(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        if namespace:
            result = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        else:
            result = self.custom.list_cluster_custom_object(GROUP, VERSION, plural)
        return list(result.get("items", []))

    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self._count(f"patch-status/{plural}")
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, plural, name, {"status": dict(status)}
        )

    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """The base64 ``data`` of a Secret, or None when it does not exist."""
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return dict(secret.data or {})

    def namespace_terminating(self, namespace: str) -> bool:
        """True when the namespace is being deleted (or already gone)."""
        try:
            found = self.core.read_namespace(namespace)
        except ApiException as e:
            if e.status == 404:
                return True
            raise
        return (
            bool(found.metadata.deletion_timestamp) or (found.status and found.status.phase) == "Terminating"
        )

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return dict(self.core.read_namespace(namespace).metadata.labels or {})

    def ensure_hmac_key(self, namespace: str, name: str) -> bytes:
        """The per-installation fingerprint key: created once as an immutable Secret, then only read."""
        data = self.secret_data(namespace, name)
        if data is None:
            body = client.V1Secret(
                metadata=client.V1ObjectMeta(
                    name=name,
                    namespace=namespace,
                    labels={"app.kubernetes.io/managed-by": "vaultsync"},
                    annotations={"vaultsync.io/purpose": "HMAC key for status fingerprints; do not share"},
                ),
                immutable=True,
                type="Opaque",
                data={"key": base64.b64encode(pysecrets.token_bytes(32)).decode()},
            )
            try:
                self._count("create/secret")
                self.core.create_namespaced_secret(namespace, body)
            except ApiException as e:
                if e.status != 409:  # another replica created it first
                    raise
            data = self.secret_data(namespace, name)
        if not data or "key" not in data:
            raise RuntimeError(f"HMAC key Secret {namespace}/{name} has no 'key'")
        key = base64.b64decode(data["key"])
        if len(key) < 16:
            raise RuntimeError(f"HMAC key in Secret {namespace}/{name} is shorter than 16 bytes")
        return key
