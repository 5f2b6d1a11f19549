"""The few Kubernetes API calls the operator makes besides kopf's own, in one place.

Synchronous (the ``kubernetes`` client); callers run them in worker threads. Every call
that writes a resource is counted, so tests can prove a steady state costs nothing.

The shared ``ApiClient`` is guarded here: a transport failure (urllib3 ``MaxRetryError``,
a refused connection, a timeout) becomes :class:`KubeUnavailable`, which is both an
``ApiException`` (code that checks ``status`` keeps working) and the backend error tree's
``Unavailable`` (a sync reports it instead of dying). Its connection pool is sized to the
worker threads, so a busy operator never discards connections.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client
from kubernetes.client import rest
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from vaultsync.api.names import GROUP, VERSION
from vaultsync.backends.errors import BackendError, Throttled, Unavailable
from vaultsync.backends.kubernetes import api_error

HANDLER_CONNECTIONS = 16
"""Connections for the handlers' own calls (kopf's event handlers run in threads too)."""
POOL_SIZE = 32 + HANDLER_CONNECTIONS
"""Connections kept to the API server by default: the sync worker threads plus the handlers'."""
TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds of a call that sets no timeout of its own."""


class KubeUnavailable(ApiException, Unavailable):  # type: ignore[misc]
    """The API server could not be reached; HTTP status 503 for code that reads ``status``."""

    def __init__(self, what: str, cause: BaseException) -> None:
        ApiException.__init__(self, status=503, reason=f"API server unreachable ({type(cause).__name__})")
        self.body = b""  # the client decodes the body of every ApiException it passes on
        Unavailable.__init__(self, f"{what}: API server unreachable ({type(cause).__name__})")

    def __str__(self) -> str:
        return self.message


class _GuardedRest(rest.RESTClientObject):  # type: ignore[misc]
    """The client's HTTP layer: a default timeout, transport failures as :class:`KubeUnavailable`."""

    def __init__(self, configuration: Any, timeout: tuple[float, float]) -> None:
        super().__init__(configuration)
        self._timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # Without one, the client waits forever on a hung API server, holding a worker thread.
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = self._timeout
        try:
            return super().request(method, url, *args, **kwargs)
        except (Urllib3Error, OSError) as e:
            raise KubeUnavailable(f"{method} {urlsplit(url).path}", e) from e


def guard(api_client: Any, pool_size: int = POOL_SIZE, timeout: tuple[float, float] = TIMEOUT) -> Any:
    """Give ``api_client`` the guarded HTTP layer and a pool of ``pool_size`` connections."""
    if isinstance(api_client.rest_client, _GuardedRest):
        return api_client
    api_client.configuration.connection_pool_maxsize = pool_size
    previous = api_client.rest_client
    api_client.rest_client = _GuardedRest(api_client.configuration, timeout)
    previous.pool_manager.clear()
    return api_client


KUBE_ERRORS = (BackendError, ApiException)
"""What a call through :class:`KubeApi` can raise: catch these, then map them with :func:`kube_error`."""

READY_TIMEOUT = (2.0, 2.0)


def apiserver_unreachable(error: BaseException) -> bool:
    """The API server is down or not ready (no answer, 5xx, 429), as opposed to refusing this one
    request (403, 404, 409, 422): the first waits on one probe, the second is the object's own."""
    return isinstance(kube_error(error, "API call"), (Unavailable, Throttled))


def kube_error(error: BaseException, what: str) -> BackendError:
    """Any Kubernetes client failure as a backend error naming ``what`` failed."""
    if isinstance(error, KubeUnavailable):
        return Unavailable(f"{what}: {error.reason}")
    if isinstance(error, BackendError):
        return error
    if isinstance(error, ApiException):
        return api_error(error, what, missing=f"access needed for {what}")
    return Unavailable(f"{what}: API server unreachable ({type(error).__name__})")


class KubeApi:
    """Typed access to the resources the operator reads and writes."""

    def __init__(self, api_client: Any, *, pool_size: int = POOL_SIZE) -> None:
        self.api_client = guard(api_client, pool_size)
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

    def ready(self) -> bool:
        """Blocking: whether the API server says it is ready (``GET /readyz``, which every
        authenticated identity may read). The scheduler probes it while the server is down."""
        try:
            self.api_client.call_api(
                "/readyz",
                "GET",
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=READY_TIMEOUT,
            )
        except (ApiException, BackendError):
            return False
        return True

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
