"""The HTTP edge of the Vault/OpenBao backend: one shared connection pool, login, error translation.

Every call to Vault goes through :meth:`VaultHttp.request`, which counts it, retries it when
throttled and turns status codes and transport failures into the backend error tree. Bodies
of error responses are never copied into messages (Vault echoes request data in some errors).

Vault's API is JSON over HTTP, so the calls go straight to one urllib3 pool. hvac's adapter on a
requests session cost as much as the call itself: 0.97 ms of client CPU per read against 0.49 ms
(``bench.backends``, ``docs/backends.md``), and the change poll reads every watched path's metadata
each interval. Like requests, the pool follows Vault's redirects (a standby node's 307) and takes
its proxy from the environment, read once when the backend is built.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests.utils
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, SSLError

from vaultsync.backends.errors import (
    BackendError,
    Conflict,
    InvalidConfig,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
)
from vaultsync.backends.interface import CallCounter
from vaultsync.backends.pools import DEFAULT_POOL_SIZE
from vaultsync.backends.retry import RetryPolicy, call_with_retry

REDIRECTS = 5
"""Redirects followed per call (a standby node that does not forward requests answers 307)."""


@dataclass(frozen=True)
class VaultLogin:
    """A login method that trades credentials for a client token (AppRole, Kubernetes)."""

    mount: str
    """Auth mount path, e.g. ``approle`` or ``kubernetes``."""
    payload: Callable[[], dict[str, str]]
    """Builds the login body on demand (re-reads a projected token file each time)."""
    describe: str
    """Short name for messages, e.g. ``AppRole login``."""


Answer = urllib3.BaseHTTPResponse


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_for(response: Answer, what: str, capability: str) -> BackendError:
    status = response.status
    if status == 404:
        return NotFound(f"{what}: not found")
    if status in (401, 403):
        return PermissionDenied(f"{what}: permission denied", missing=[capability])
    if status == 429:
        return Throttled(f"{what}: rate limited", retry_after=_retry_after(response))
    if status == 400 and b"check-and-set" in response.data:
        return Conflict(f"{what}: version is not the expected one")
    if status in (400, 405, 412):
        return InvalidConfig(f"{what}: rejected by the vault (HTTP {status})")
    return Unavailable(f"{what}: vault failed (HTTP {status})")


def _tls_context(ca_bundle: str | None, verify_tls: bool) -> ssl.SSLContext:
    """The profile's CA bundle, else the one the environment names, else certifi's (as requests did)."""
    if not verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        try:
            return ssl.create_default_context(cadata=ca_bundle)
        except (ssl.SSLError, ValueError) as e:
            raise InvalidConfig("caBundle: not a PEM certificate bundle") from e
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    return ssl.create_default_context(cafile=bundle)


def _pool(address: str, tls: ssl.SSLContext | None, size: int) -> urllib3.PoolManager:
    """A pool, behind the proxy the environment names for ``address`` (``NO_PROXY`` honoured)."""
    options: dict[str, Any] = {"maxsize": size, "block": False}
    if tls is not None:
        options["ssl_context"] = tls
    proxy = requests.utils.get_environ_proxies(address).get(urlsplit(address).scheme)
    return urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)


class VaultHttp:
    """A thread-safe Vault client: pooled connections, token login on demand, counted calls."""

    def __init__(
        self,
        address: str,
        *,
        token: str | None,
        login: VaultLogin | None,
        namespace: str | None,
        ca_bundle: str | None,
        verify_tls: bool = True,
        timeout: float,
        retry: RetryPolicy,
        calls: CallCounter,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        if not address.startswith(("http://", "https://")):
            raise InvalidConfig("hashicorp.address: must be an http:// or https:// URL")
        tls = _tls_context(ca_bundle, verify_tls) if address.startswith("https://") else None
        self._pool = _pool(address, tls, pool_size)
        self._base = address.rstrip("/") + "/v1/"
        self._headers = {"X-Vault-Request": "true", **({"X-Vault-Namespace": namespace} if namespace else {})}
        self._timeout = urllib3.Timeout(timeout)
        self._redirects = urllib3.Retry(
            total=None, connect=0, read=0, status=0, other=0, redirect=REDIRECTS, raise_on_redirect=False
        )
        self._token = token
        self._login = login
        self._login_lock = threading.Lock()
        self._retry = retry
        self.calls = calls

    @property
    def uses_login(self) -> bool:
        return self._login is not None

    def _send(self, method: str, api_path: str, body: Mapping[str, Any] | None) -> Answer:
        headers = dict(self._headers)
        if self._token:
            headers["X-Vault-Token"] = self._token
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        try:
            return self._pool.request(
                method,
                self._base + api_path,
                body=payload,
                headers=headers,
                timeout=self._timeout,
                retries=self._redirects,
            )
        except (Urllib3Error, OSError) as e:
            cause = e.reason if isinstance(e, MaxRetryError) else e
            if isinstance(cause, SSLError | ssl.SSLError):
                raise InvalidConfig(f"{method} {api_path}: TLS verification failed; check caBundle") from e
            raise Unavailable(f"{method} {api_path}: vault unreachable ({type(cause).__name__})") from e
        except ValueError as e:  # http.client refuses a header value (a token holding a newline)
            raise InvalidConfig(f"{method} {api_path}: the token or namespace is not a valid header") from e

    def ensure_login(self, *, force: bool = False) -> None:
        """Log in with the configured method if there is no token yet (or ``force``)."""
        if self._login is None:
            return
        with self._login_lock:
            if self._token and not force:
                return
            self.calls.add("login")
            api_path = f"auth/{self._login.mount.strip('/')}/login"
            response = self._send("POST", api_path, self._login.payload())
            if response.status == 400:
                raise PermissionDenied(
                    f"{self._login.describe}: the vault rejected the credentials",
                    missing=[f"login via auth/{self._login.mount}"],
                )
            if response.status != 200:
                raise _error_for(response, self._login.describe, f"login via auth/{self._login.mount}")
            try:
                self._token = str(json.loads(response.data)["auth"]["client_token"])
            except (ValueError, KeyError, TypeError) as e:
                raise Unavailable(f"{self._login.describe}: the vault's answer holds no client token") from e

    def request(
        self,
        operation: str,
        method: str,
        api_path: str,
        body: Mapping[str, Any] | None = None,
        *,
        capability: str,
    ) -> dict[str, Any] | None:
        """One counted, retried call; returns the JSON body, or ``None`` for 204."""

        def once() -> Answer:
            self.calls.add(operation)
            return self._send(method, api_path, body)

        def attempt() -> Answer:
            self.ensure_login()
            response = once()
            if response.status == 403 and self.uses_login:
                self.ensure_login(force=True)
                response = once()
            if response.status >= 400:
                raise _error_for(response, f"{method} {api_path}", f"{capability} on {api_path}")
            return response

        response = call_with_retry(attempt, self._retry)
        if response.status == 204 or not response.data:
            return None
        try:
            decoded: dict[str, Any] = json.loads(response.data)
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
            raise Unavailable(f"{method} {api_path}: vault sent a body that is not JSON") from e
        return decoded

    def close(self) -> None:
        self._pool.clear()
