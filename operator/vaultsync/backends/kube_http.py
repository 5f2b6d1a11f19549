"""The operator's own Kubernetes REST client: JSON in, dicts out, over one urllib3 pool.

The ``kubernetes`` package was the operator's largest cost: importing it takes about 55 MiB
(every API and model class is loaded), and each answer is turned into model objects and back.
The operator only needs a dozen calls on Secrets, its custom resources, Leases, reviews and
workloads, so it speaks the REST API directly. Connection details come from the pod's service
account or from a kubeconfig (token, token file, client certificate, or an exec plugin).

A failed call raises :class:`KubeStatusError` (the HTTP status and reason, never the answer's
body: an API server echoes request data in some errors) or, when the server cannot be reached,
:class:`KubeUnavailable`, which is also the backend error tree's ``Unavailable``.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3
import yaml
from urllib3.exceptions import HTTPError as Urllib3Error

from vaultsync.backends.errors import InvalidConfig, Unavailable
from vaultsync.backends.pools import DEFAULT_POOL_SIZE

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REREAD_SECONDS = 60.0
"""A projected service account token is rotated by the kubelet: read the file again this often."""
DEFAULT_TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds of a call that sets no timeout of its own."""
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
WATCHED_METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
"""The Accept header of a watch whose events carry each object's metadata only."""
WATCH_CHUNK = 64 * 1024


class KubeStatusError(Exception):
    """The API server answered with an error status."""

    def __init__(
        self,
        status: int,
        reason: str,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason
        self.headers: Mapping[str, str] = headers if headers is not None else {}  # case-insensitive
        self.details: Mapping[str, Any] = details if details is not None else {}
        """The ``Status`` object the server sent with the error, when it sent one."""


class KubeUnavailable(KubeStatusError, Unavailable):
    """The API server could not be reached; status 503 for code that reads ``status``."""

    def __init__(self, what: str, cause: BaseException) -> None:
        KubeStatusError.__init__(self, 503, f"API server unreachable ({type(cause).__name__})")
        Unavailable.__init__(self, f"{what}: API server unreachable ({type(cause).__name__})")

    def __str__(self) -> str:
        return Unavailable.__str__(self)


@dataclass(frozen=True)
class ExecPlugin:
    """A kubeconfig ``user.exec`` credential plugin (cloud clusters): run it for a token."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"

    def run(self) -> tuple[str, float | None]:
        """(token, expiry as a Unix time or None)."""
        info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        environ = {**os.environ, **dict(self.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
        try:
            done = subprocess.run(
                [self.command, *self.args], env=environ, capture_output=True, timeout=60, check=True
            )
            status = json.loads(done.stdout).get("status") or {}
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            raise InvalidConfig(f"kubeconfig exec plugin {self.command!r} failed ({type(e).__name__})") from e
        token = status.get("token")
        if not token:
            raise InvalidConfig(f"kubeconfig exec plugin {self.command!r} gave no token")
        expiry = status.get("expirationTimestamp")
        return str(token), _unix_time(expiry) if expiry else None


def _unix_time(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class KubeConnection:
    """Where the API server is and how to prove who we are."""

    server: str
    ca_file: str | None = None
    ca_data: str | None = None
    """PEM text of the cluster CA."""
    insecure: bool = False
    token: str | None = None
    token_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    exec_plugin: ExecPlugin | None = None
    namespace: str | None = None
    """The default namespace of the service account or kubeconfig context."""
    cert_dir: Any = field(default=None, compare=False, repr=False)
    """Keeps alive the private directory holding certificate data written from a kubeconfig."""

    @classmethod
    def in_cluster(cls, directory: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection | None:
        """The pod's service account, or None outside a cluster."""
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        token = directory / "token"
        if not host or not port or not token.exists():
            return None
        host = f"[{host}]" if ":" in host else host
        namespace = directory / "namespace"
        return cls(
            server=f"https://{host}:{port}",
            ca_file=str(directory / "ca.crt"),
            token_file=str(token),
            namespace=namespace.read_text().strip() if namespace.exists() else None,
        )

    @classmethod
    def from_kubeconfig(cls, paths: str | None = None, context_name: str | None = None) -> KubeConnection:
        """The current (or the named) context of ``KUBECONFIG`` (or ``~/.kube/config``); the first
        file naming a context, cluster or user wins, as kubectl merges them."""
        raw = paths or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        merged: dict[str, dict[str, Any]] = {"contexts": {}, "clusters": {}, "users": {}}
        current: str | None = None
        for path in [p for p in raw.split(os.pathsep) if p]:
            try:
                config = yaml.safe_load(Path(path).expanduser().read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise InvalidConfig(f"kubeconfig {path}: cannot be read ({type(e).__name__})") from e
            current = current or config.get("current-context")
            base = Path(path).expanduser().resolve().parent
            for kind, key in (("contexts", "context"), ("clusters", "cluster"), ("users", "user")):
                for item in config.get(kind) or []:
                    merged[kind].setdefault(item.get("name"), _anchored(item.get(key) or {}, base))
        current = context_name or current
        if not current or current not in merged["contexts"]:
            raise InvalidConfig(f"kubeconfig {raw}: no context {current or '(current-context is not set)'}")
        context = merged["contexts"][current]
        cluster = merged["clusters"].get(context.get("cluster"), {})
        user = merged["users"].get(context.get("user"), {})
        if not cluster.get("server"):
            raise InvalidConfig(f"kubeconfig {raw}: context {current!r} names no cluster server")
        cert_dir = tempfile.TemporaryDirectory(prefix="vaultsync-kube-")
        return cls(
            server=str(cluster["server"]).rstrip("/"),
            ca_file=cluster.get("certificate-authority"),
            ca_data=_decoded(cluster.get("certificate-authority-data")),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            token=user.get("token"),
            token_file=user.get("tokenFile"),
            cert_file=_file_of(user, "client-certificate", cert_dir.name),
            key_file=_file_of(user, "client-key", cert_dir.name),
            exec_plugin=_exec_plugin(user.get("exec")),
            namespace=context.get("namespace") or "default",
            cert_dir=cert_dir,
        )

    @classmethod
    def load(cls) -> KubeConnection:
        """In a pod its service account; elsewhere the kubeconfig, as kubectl would pick it."""
        return cls.in_cluster() or cls.from_kubeconfig()


_FILE_FIELDS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _anchored(entry: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``entry`` with its file paths made absolute: kubectl reads a relative path from the
    directory of the kubeconfig that names it."""
    anchored = dict(entry)
    for field_name in _FILE_FIELDS:
        if anchored.get(field_name):
            anchored[field_name] = str(base / Path(str(anchored[field_name])).expanduser())
    return anchored


def _decoded(data: str | None) -> str | None:
    return base64.b64decode(data).decode() if data else None


def _file_of(user: Mapping[str, Any], key: str, directory: str) -> str | None:
    """A client certificate or key file: the kubeconfig's path, or its inline data written to a
    file only this user can read (``ssl`` loads certificates from files only)."""
    if user.get(key):
        return str(user[key])
    data = user.get(f"{key}-data")
    if not data:
        return None
    path = Path(directory) / key
    path.touch(mode=0o600)
    path.write_bytes(base64.b64decode(data))
    return str(path)


def _exec_plugin(spec: Mapping[str, Any] | None) -> ExecPlugin | None:
    if not spec:
        return None
    return ExecPlugin(
        command=str(spec["command"]),
        args=tuple(str(a) for a in spec.get("args") or ()),
        env=tuple((str(e["name"]), str(e["value"])) for e in spec.get("env") or ()),
        api_version=str(spec.get("apiVersion") or ExecPlugin.api_version),
    )


class BearerToken:
    """The bearer token of a connection: fixed, re-read from a rotating file, or from a plugin."""

    def __init__(self, connection: KubeConnection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._value = connection.token
        self._good_until = float("inf") if connection.token else 0.0

    def get(self) -> str | None:
        with self._lock:
            if time.monotonic() >= self._good_until:
                self._refresh()
            return self._value

    def expire(self) -> None:
        """Forget a token the server refused (401): the next call reads it again."""
        with self._lock:
            if self._connection.token_file or self._connection.exec_plugin:
                self._good_until = 0.0

    def _refresh(self) -> None:
        if self._connection.token_file:
            self._value = Path(self._connection.token_file).read_text().strip()
            self._good_until = time.monotonic() + TOKEN_REREAD_SECONDS
        elif self._connection.exec_plugin:
            self._value, expiry = self._connection.exec_plugin.run()
            left = (expiry - time.time() - 30) if expiry else 300.0
            self._good_until = time.monotonic() + max(left, 5.0)
        else:
            self._good_until = float("inf")


def _ssl_context(connection: KubeConnection) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=connection.ca_file, cadata=connection.ca_data)
    if connection.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if connection.cert_file:
        context.load_cert_chain(connection.cert_file, connection.key_file)
    return context


def resource_path(
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    *,
    subresource: str | None = None,
) -> str:
    """The REST path of a resource collection or object; core group when ``group`` is empty."""
    parts = ["/api", version] if not group else ["/apis", group, version]
    if namespace:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def secret_path(namespace: str, name: str | None = None) -> str:
    return resource_path("", "v1", "secrets", namespace, name)


class KubeHttp:
    """Thread-safe calls to one API server, over a pool of ``pool_size`` kept connections."""

    def __init__(
        self,
        connection: KubeConnection,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.connection = connection
        self._token = BearerToken(connection)
        self._timeout = timeout
        split = urlsplit(connection.server)
        self._prefix = split.path.rstrip("/")
        options: dict[str, Any] = {"maxsize": pool_size, "block": False, "retries": False}
        if split.scheme == "https":
            options["ssl_context"] = _ssl_context(connection)
            if connection.insecure:
                options["assert_hostname"] = False
        self._pool = urllib3.connection_from_url(f"{split.scheme}://{split.netloc}", **options)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] | Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
        raw: bool = False,
    ) -> Any:
        """The decoded JSON answer of ``method path`` (None when it has no body; bytes if ``raw``)."""
        url = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        for attempt in (1, 2):
            response = self._send(
                method, url, path, payload, content_type=content_type, accept=accept, timeout=timeout
            )
            if response.status == 401 and attempt == 1:
                self._token.expire()  # a rotated token: read it again and retry once
                continue
            break
        if response.status >= 400:
            status = _status_of(response)
            raise KubeStatusError(response.status, response.reason or "", response.headers, status)
        if raw:
            return bytes(response.data)
        if not response.data:
            return None
        try:
            return json.loads(response.data)
        except ValueError as e:
            raise KubeUnavailable(f"{method} {path}: the answer does not decode", e) from e

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        payload: bytes | None,
        *,
        content_type: str,
        accept: str,
        timeout: float | tuple[float, float] | None,
        preload: bool = True,
    ) -> Any:
        headers = {"Accept": accept, "User-Agent": "vaultsync"}
        if payload is not None:
            headers["Content-Type"] = content_type
        token = self._token.get()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        seconds = timeout if timeout is not None else self._timeout
        # Timeout's first positional argument is the total: (5, 30) meant 5 s for the whole call.
        wait = (
            urllib3.Timeout(connect=seconds[0], read=seconds[1])
            if isinstance(seconds, tuple)
            else urllib3.Timeout(seconds)
        )
        try:
            return self._pool.urlopen(
                method,
                url,
                body=payload,
                headers=headers,
                timeout=wait,
                retries=False,
                preload_content=preload,
            )
        except (Urllib3Error, OSError) as e:
            raise KubeUnavailable(f"{method} {path}", e) from e

    def get(self, path: str, **options: Any) -> Any:
        return self.request("GET", path, **options)

    def watch(
        self,
        path: str,
        *,
        query: Sequence[tuple[str, Any]],
        accept: str = "application/json",
        timeout: tuple[float, float],
        opened: Callable[[Any], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The events of a watch request, one decoded JSON object per line, until the server ends
        the request. ``opened`` receives the response, so another thread can close it to stop."""
        url = self._prefix + path + f"?{urlencode(query)}"
        response = self._send(
            "GET", url, path, None, content_type="", accept=accept, timeout=timeout, preload=False
        )
        try:
            if response.status == 401:
                self._token.expire()  # a rotated token: the caller's next watch reads it again
            if response.status >= 400:
                raise KubeStatusError(response.status, response.reason or "", response.headers)
            if opened is not None:
                opened(response)
            pending = b""
            for chunk in response.stream(WATCH_CHUNK):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
        except (Urllib3Error, OSError, ValueError) as e:
            raise KubeUnavailable(f"watch {path}", e) from e
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.close()


def _status_of(response: Any) -> Mapping[str, Any] | None:
    """What the operator uses of the ``Status`` body of an error answer: its reason, code and
    continue token (never its message, which may quote what a webhook was sent)."""
    try:
        decoded = json.loads(response.data or b"null")
    except ValueError:
        return None
    if not isinstance(decoded, dict) or decoded.get("kind") != "Status":
        return None
    token = (decoded.get("metadata") or {}).get("continue")
    return {"reason": decoded.get("reason"), "code": decoded.get("code"), "metadata": {"continue": token}}


def expired_continue(status: int, details: Mapping[str, Any]) -> str | None:
    """The continue token of an ``Expired`` refusal of a list's next page (``status`` and the
    Status body ``details``): the rest of the list, read now instead of from the first page's
    snapshot (which etcd has compacted). None for any other refusal."""
    if status != GONE or details.get("reason") != "Expired":
        return None
    token = (details.get("metadata") or {}).get("continue")
    return str(token) if token else None


LIST_PAGE = 500
GONE = 410


def list_pages(
    http: KubeHttp,
    path: str,
    query: Sequence[tuple[str, Any]] = (),
    *,
    accept: str = "application/json",
    page_size: int = LIST_PAGE,
) -> Iterator[dict[str, Any]]:
    """Each page of a paginated LIST of ``path`` (``limit``, then ``continue`` until the last).

    A list read slower than etcd keeps its snapshot (compaction, every 5 minutes by default) gets
    its next page refused with ``410 Expired``; it goes on with the fresh token the refusal carries
    (client-go would list everything again in one response, every body in memory at once). The
    pages after that come from a newer snapshot than the first: a caller that watches afterwards
    must start from the first page's resourceVersion (the server then answers ``410 Gone`` and the
    caller lists again), never from a later page's.
    """
    token = ""
    while True:
        paging: list[tuple[str, Any]] = [("limit", page_size)] + ([("continue", token)] if token else [])
        try:
            page: dict[str, Any] = http.request("GET", path, query=[*query, *paging], accept=accept) or {}
        except KubeStatusError as e:
            token = (expired_continue(e.status, e.details) or "") if token else ""
            if not token:
                raise
            continue
        yield page
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            return


SELF_ACCESS_REVIEWS = resource_path("authorization.k8s.io", "v1", "selfsubjectaccessreviews")


def self_access_review(attributes: Mapping[str, str]) -> dict[str, Any]:
    """The body asking whether the caller may do what ``resourceAttributes`` name (POST it to
    :data:`SELF_ACCESS_REVIEWS`; :func:`review_allows` reads the answer)."""
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": dict(attributes)},
    }


def review_allows(answer: Mapping[str, Any] | None) -> bool:
    return bool(((answer or {}).get("status") or {}).get("allowed"))


def username(http: KubeHttp) -> str:
    """Who the caller is to the API server (SelfSubjectReview). Raises ``KubeStatusError`` when it
    cannot ask, and ``KeyError``/``TypeError`` when the answer names nobody."""
    review = http.request(
        "POST",
        resource_path("authentication.k8s.io", "v1", "selfsubjectreviews"),
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    return str(review["status"]["userInfo"]["username"])
