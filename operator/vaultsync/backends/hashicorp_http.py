"""The HTTP edge of the Vault/OpenBao backend: one shared session, login, error translation.

Every call to Vault goes through :meth:`VaultHttp.request`, which counts it, retries it when
throttled and turns status codes and transport failures into the backend error tree. Bodies
of error responses are never copied into messages (Vault echoes request data in some errors).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from hvac.adapters import RawAdapter

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
from vaultsync.backends.pools import DEFAULT_POOL_SIZE, pooled_session
from vaultsync.backends.retry import RetryPolicy, call_with_retry


@dataclass(frozen=True)
class VaultLogin:
    """A login method that trades credentials for a client token (AppRole, Kubernetes)."""

    mount: str
    """Auth mount path, e.g. ``approle`` or ``kubernetes``."""
    payload: Callable[[], dict[str, str]]
    """Builds the login body on demand (re-reads a projected token file each time)."""
    describe: str
    """Short name for messages, e.g. ``AppRole login``."""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_for(response: requests.Response, what: str, capability: str) -> BackendError:
    status = response.status_code
    if status == 404:
        return NotFound(f"{what}: not found")
    if status in (401, 403):
        return PermissionDenied(f"{what}: permission denied", missing=[capability])
    if status == 429:
        return Throttled(f"{what}: rate limited", retry_after=_retry_after(response))
    if status == 400 and "check-and-set" in response.text:
        return Conflict(f"{what}: version is not the expected one")
    if status in (400, 405, 412):
        return InvalidConfig(f"{what}: rejected by the vault (HTTP {status})")
    return Unavailable(f"{what}: vault failed (HTTP {status})")


class VaultHttp:
    """A thread-safe Vault client: pooled session, token login on demand, counted calls."""

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
        self._ca_file: Path | None = None
        verify: bool | str = verify_tls
        if ca_bundle and verify_tls:
            handle, name = tempfile.mkstemp(prefix="vaultsync-ca-", suffix=".pem")
            with os.fdopen(handle, "w") as out:
                out.write(ca_bundle)
            self._ca_file = Path(name)
            verify = name
        session = pooled_session(pool_size)
        # The environment (proxies, a CA bundle) is read once here: requests would otherwise
        # scan os.environ on every call, a measurable share of a change listing's CPU.
        session.proxies = requests.utils.get_environ_proxies(address)
        if verify is True:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
        session.verify = verify
        self._adapter = RawAdapter(
            base_uri=address.rstrip("/"),
            token=token,
            namespace=namespace or None,
            session=session,
            timeout=timeout,
            ignore_exceptions=True,
            verify=verify,
        )
        self._login = login
        self._login_lock = threading.Lock()
        self._retry = retry
        self.calls = calls

    @property
    def uses_login(self) -> bool:
        return self._login is not None

    def _send(self, method: str, api_path: str, body: Mapping[str, Any] | None) -> requests.Response:
        try:
            response: requests.Response = self._adapter.request(
                method, f"/v1/{api_path}", json=dict(body) if body is not None else None
            )
        except requests.exceptions.SSLError as e:
            raise InvalidConfig(f"{method} {api_path}: TLS verification failed; check caBundle") from e
        except requests.exceptions.RequestException as e:
            raise Unavailable(f"{method} {api_path}: vault unreachable ({type(e).__name__})") from e
        return response

    def ensure_login(self, *, force: bool = False) -> None:
        """Log in with the configured method if there is no token yet (or ``force``)."""
        if self._login is None:
            return
        with self._login_lock:
            if self._adapter.token and not force:
                return
            self.calls.add("login")
            api_path = f"auth/{self._login.mount.strip('/')}/login"
            response = self._send("POST", api_path, self._login.payload())
            if response.status_code == 400:
                raise PermissionDenied(
                    f"{self._login.describe}: the vault rejected the credentials",
                    missing=[f"login via auth/{self._login.mount}"],
                )
            if response.status_code != 200:
                raise _error_for(response, self._login.describe, f"login via auth/{self._login.mount}")
            try:
                self._adapter.token = str(response.json()["auth"]["client_token"])
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

        def once() -> requests.Response:
            self.calls.add(operation)
            return self._send(method, api_path, body)

        def attempt() -> requests.Response:
            self.ensure_login()
            response = once()
            if response.status_code == 403 and self.uses_login:
                self.ensure_login(force=True)
                response = once()
            if response.status_code >= 400:
                raise _error_for(response, f"{method} {api_path}", f"{capability} on {api_path}")
            return response

        response = call_with_retry(attempt, self._retry)
        if response.status_code == 204 or not response.content:
            return None
        try:
            decoded: dict[str, Any] = response.json()
        except ValueError as e:  # json's and requests' decode errors are both ValueErrors
            raise Unavailable(f"{method} {api_path}: vault sent a body that is not JSON") from e
        return decoded

    def close(self) -> None:
        self._adapter.close()
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
