"""The few Kubernetes API calls the operator makes besides kopf's own, in one place.

Synchronous (:class:`~vaultsync.backends.kube_http.KubeHttp`); callers run them in worker
threads. Every call that writes a resource is counted, so tests can prove a steady state costs
nothing. A transport failure (a refused connection, a timeout) is
:class:`~vaultsync.backends.kube_http.KubeUnavailable`, both a ``KubeStatusError`` with status
503 (code that checks ``status`` keeps working) and the backend error tree's ``Unavailable``
(a sync reports it instead of dying). The connection pool is sized to the worker threads, so
a busy operator never discards connections.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from vaultsync.api.names import GROUP, VERSION
from vaultsync.backends.errors import BackendError, Throttled, Unavailable
from vaultsync.backends.kube_errors import api_error
from vaultsync.backends.kube_http import (
    MERGE_PATCH,
    KubeHttp,
    KubeStatusError,
    KubeUnavailable,
    resource_path,
    secret_path,
)

HANDLER_CONNECTIONS = 16
"""Connections for the handlers' own calls (kopf's event handlers run in threads too)."""
POOL_SIZE = 32 + HANDLER_CONNECTIONS
"""Connections kept to the API server by default: the sync worker threads plus the handlers'."""

KUBE_ERRORS = (BackendError, KubeStatusError)
"""What a call through :class:`KubeApi` can raise: catch these, then map them with :func:`kube_error`."""

READY_TIMEOUT = (2.0, 2.0)

__all__ = ("KUBE_ERRORS", "KubeApi", "KubeStatusError", "KubeUnavailable", "kube_error", "secret_path")


def apiserver_unreachable(error: BaseException) -> bool:
    """The API server is down or not ready (no answer, 5xx, 429), as opposed to refusing this one
    request (403, 404, 409, 422): the first waits on one probe, the second is the object's own."""
    return isinstance(kube_error(error, "API call"), (Unavailable, Throttled))


def kube_error(error: BaseException, what: str) -> BackendError:
    """Any Kubernetes call failure as a backend error naming ``what`` failed."""
    if isinstance(error, KubeStatusError):  # KubeUnavailable included: it is also a BackendError
        return api_error(error, what, missing=f"access needed for {what}")
    if isinstance(error, BackendError):
        return error
    return Unavailable(f"{what}: API server unreachable ({type(error).__name__})")


class KubeApi:
    """Typed access to the resources the operator reads and writes."""

    def __init__(self, http: KubeHttp) -> None:
        self.http = http
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

    def count(self, what: str) -> None:
        """Counts a write the caller is about to make (``verb/resource``)."""
        with self._lock:
            self.writes[what] += 1

    def get(self, path: str, **options: Any) -> Any:
        """The object at ``path``, or None when it does not exist."""
        try:
            return self.http.request("GET", path, **options)
        except KubeStatusError as e:
            if e.status == 404:
                return None
            raise

    def write(self, method: str, path: str, body: Any, *, counted: str, **options: Any) -> Any:
        """A counted ``POST``/``PUT``/``PATCH``/``DELETE``; the API server's answer."""
        self.count(counted)
        return self.http.request(method, path, body=body, **options)

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.get(resource_path(GROUP, VERSION, plural, namespace, name))
        return found

    def list_objects(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        result = self.http.request("GET", resource_path(GROUP, VERSION, plural, namespace))
        return list((result or {}).get("items") or [])

    def ready(self) -> bool:
        """Blocking: whether the API server says it is ready (``GET /readyz``, which every
        authenticated identity may read). The scheduler probes it while the server is down."""
        try:
            self.http.request("GET", "/readyz", accept="*/*", timeout=READY_TIMEOUT, raw=True)
        except (KubeStatusError, BackendError):
            return False
        return True

    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.write(
            "PATCH",
            resource_path(GROUP, VERSION, plural, namespace, name, subresource="status"),
            {"status": dict(status)},
            counted=f"patch-status/{plural}",
            content_type=MERGE_PATCH,
        )

    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """The base64 ``data`` of a Secret, or None when it does not exist."""
        secret = self.get(secret_path(namespace, name))
        return None if secret is None else dict(secret.get("data") or {})

    def namespace_terminating(self, namespace: str) -> bool:
        """True when the namespace is being deleted (or already gone)."""
        found = self.get(resource_path("", "v1", "namespaces", name=namespace))
        if found is None:
            return True
        return bool((found.get("metadata") or {}).get("deletionTimestamp")) or (
            (found.get("status") or {}).get("phase") == "Terminating"
        )

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        found = self.get(resource_path("", "v1", "namespaces", name=namespace)) or {}
        return dict((found.get("metadata") or {}).get("labels") or {})

    def ensure_hmac_key(self, namespace: str, name: str) -> bytes:
        """The per-installation fingerprint key: created once as an immutable Secret, then only read."""
        data = self.secret_data(namespace, name)
        if data is None:
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "vaultsync"},
                    "annotations": {"vaultsync.io/purpose": "HMAC key for status fingerprints; do not share"},
                },
                "immutable": True,
                "type": "Opaque",
                "data": {"key": base64.b64encode(pysecrets.token_bytes(32)).decode()},
            }
            try:
                self.write("POST", secret_path(namespace), body, counted="create/secret")
            except KubeStatusError as e:
                if e.status != 409:  # another replica created it first
                    raise
            data = self.secret_data(namespace, name)
        if not data or "key" not in data:
            raise RuntimeError(f"HMAC key Secret {namespace}/{name} has no 'key'")
        key = base64.b64decode(data["key"])
        if len(key) < 16:
            raise RuntimeError(f"HMAC key in Secret {namespace}/{name} is shorter than 16 bytes")
        return key
