"""A Key Vault secrets protocol server for the test suite, with its own token endpoint, over HTTPS.

TEST SERVER ONLY: it lives under ``tests/`` and is never shipped. It exists because no Key Vault
emulator can be obtained on the machines this project is tested on (see docs/azure.md); the
backend's real SDK and credential code talk to it over TLS signed by a CA the test session makes.

Two listeners on loopback: the vault (``vault_url``) and the authority host (``authority``).
Per request the vault checks, in order: the bearer token (401 with the Key Vault challenge when
absent or invalid), injected throttling (429 with ``Retry-After``), the caller's access policy
(403 ``Forbidden``/``AccessDenied`` naming the missing secret permission), then the operation
(``vault.KeyVaultState``). Every authorised request is recorded by REST operation name.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from keyvault_server.identity import VAULT_RESOURCE, Directory, OAuthError
from keyvault_server.vault import Json, KeyVaultState, KvError
from vaultsync_devstack.pki import CertificateAuthority
from vaultsync_devstack.process import free_port

API_VERSIONS = frozenset({"2026-04-01", "2025-07-01", "7.6", "7.5", "7.4", "7.3", "7.2", "7.1", "7.0"})
PERMISSIONS = ("get", "list", "set", "delete", "recover", "purge")
PERMISSION_OF = {
    "SetSecret": "set",
    "UpdateSecret": "set",
    "GetSecret": "get",
    "GetDeletedSecret": "get",
    "GetSecrets": "list",
    "GetSecretVersions": "list",
    "GetDeletedSecrets": "list",
    "DeleteSecret": "delete",
    "RecoverDeletedSecret": "recover",
    "PurgeDeletedSecret": "purge",
}


def route(method: str, parts: list[str]) -> tuple[str, list[str]]:
    """REST operation name and its path arguments (name, version) for a request."""
    match method, parts:
        case "PUT", ["secrets", name]:
            return "SetSecret", [name]
        case "GET", ["secrets"]:
            return "GetSecrets", []
        case "GET", ["secrets", name, "versions"]:
            return "GetSecretVersions", [name]
        case "GET", ["secrets", name] | ["secrets", name, ""]:
            return "GetSecret", [name, ""]
        case "GET", ["secrets", name, version]:
            return "GetSecret", [name, version]
        case "PATCH", ["secrets", name] | ["secrets", name, ""]:
            return "UpdateSecret", [name, ""]
        case "PATCH", ["secrets", name, version]:
            return "UpdateSecret", [name, version]
        case "DELETE", ["secrets", name]:
            return "DeleteSecret", [name]
        case "GET", ["deletedsecrets"]:
            return "GetDeletedSecrets", []
        case "GET", ["deletedsecrets", name]:
            return "GetDeletedSecret", [name]
        case "DELETE", ["deletedsecrets", name]:
            return "PurgeDeletedSecret", [name]
        case "POST", ["deletedsecrets", name, "recover"]:
            return "RecoverDeletedSecret", [name]
    raise KvError(400, "BadParameter", f"{method} is not a secrets operation this test server implements.")


@dataclass
class Throttle:
    remaining: int
    retry_after: int
    operation: str | None
    after: int
    """Matching requests let through before the throttling starts."""


class _Server(ThreadingHTTPServer):
    """A threading HTTPS server that can drop every open connection (an outage, not a drain)."""

    daemon_threads = True
    request_queue_size = 128  # as many clients at once as the operator runs sync threads, and more

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.open_lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that go away mid-request (the outage tests) are not errors of the server

    def drop_all(self) -> None:
        with self.open_lock:
            connections = list(self.open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vaultsync-keyvault-test-server"
    owner: KeyVaultTestServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Json | None, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self.owner.handle(self)

    do_PUT = do_PATCH = do_POST = do_DELETE = do_GET


class KeyVaultTestServer:
    """The vault, its tenant's token endpoint, the access policies and the fault switches."""

    name = "keyvault-protocol-server"

    def __init__(self, state_dir: Path, *, tenant_id: str = "vaultsync-test-tenant") -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.authority_port = free_port()
        self.vault_url = f"https://localhost:{self.port}"
        self.authority = f"https://localhost:{self.authority_port}"
        self.ca = CertificateAuthority(state_dir / "pki", name="keyvault-test-server-ca")
        self.ca_path = self.ca.cert_path
        pair = self.ca.issue("server", "localhost", server_hosts=("localhost", "127.0.0.1"))
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(pair.cert_path, pair.key_path)
        self.directory = Directory(tenant_id)
        self.vault = KeyVaultState(self.vault_url)
        self.operations: Counter[str] = Counter()
        self.challenges = 0
        self.next_links_followed = 0
        self._policies: dict[str, frozenset[str]] = {}
        self._throttles: list[Throttle] = []
        self._lock = threading.Lock()
        self._servers: list[_Server] = []

    @property
    def tenant_id(self) -> str:
        return self.directory.tenant_id

    # ---- configuration -------------------------------------------------------------------------

    def add_principal(
        self, client_id: str, client_secret: str, permissions: tuple[str, ...] = PERMISSIONS
    ) -> None:
        """Registers an application and its access policy (secret permissions) on the vault."""
        unknown = set(permissions) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown secret permissions: {sorted(unknown)}")
        self.directory.register(client_id, client_secret)
        with self._lock:
            self._policies[client_id] = frozenset(permissions)

    def set_permissions(self, client_id: str, permissions: tuple[str, ...]) -> None:
        with self._lock:
            self._policies[client_id] = frozenset(permissions)

    def throttle(
        self, times: int, *, retry_after: int = 1, operation: str | None = None, after: int = 0
    ) -> None:
        """``times`` requests (of ``operation``, or any) answer 429, after letting ``after`` through."""
        with self._lock:
            self._throttles.append(Throttle(times, retry_after, operation, after))

    # ---- request handling ----------------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        parts = [unquote(part) for part in url.path.strip("/").split("/")] if url.path.strip("/") else []
        if url.path.endswith("/") and len(parts) == 2:
            parts.append("")
        body = request._body()
        if request.server is self._servers[1]:
            self._authority(request, parts, body)
            return
        try:
            request._send(*self._vault_call(request, parts, query, body))
        except KvError as error:
            request._send(error.status, error.body)

    def _authority(self, request: _Handler, parts: list[str], body: bytes) -> None:
        try:
            if request.command == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                request._send(200, self.directory.openid_configuration(self.authority, parts[0]))
            elif request.command == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
                form = dict(parse_qsl(body.decode()))
                request._send(200, self.directory.issue(parts[0], form))
            else:
                request._send(404, {"error": "not_found", "error_description": "no such endpoint"})
        except OAuthError as error:
            request._send(error.status, error.body)

    def _challenge(self, message: str) -> KvError:
        with self._lock:
            self.challenges += 1
        return KvError(401, "Unauthorized", message)

    def _vault_call(
        self, request: _Handler, parts: list[str], query: dict[str, str], body: bytes
    ) -> tuple[int, Json | None, dict[str, str]]:
        header = request.headers.get("Authorization") or ""
        challenge = {
            "WWW-Authenticate": (
                f'Bearer authorization="{self.authority}/{self.tenant_id}", resource="{VAULT_RESOURCE}"'
            )
        }
        if not header.startswith("Bearer "):
            error = self._challenge("AKV10000: Request is missing a Bearer or PoP token.")
            return error.status, error.body, challenge
        token = self.directory.check(header.removeprefix("Bearer "), VAULT_RESOURCE)
        if token is None:
            error = self._challenge("AKV10022: The access token is invalid or has expired.")
            return error.status, error.body, challenge
        operation, args = route(request.command, parts)
        version = query.get("api-version")
        if version not in API_VERSIONS:
            raise KvError(400, "BadParameter", f"The api-version '{version}' is not supported.")
        with self._lock:
            self.operations[operation] += 1
            self.next_links_followed += "$skiptoken" in query
            throttled = self._take_throttle(operation)
            allowed = self._policies.get(token.client_id, frozenset())
        if throttled is not None:
            error = KvError(
                429, "Throttled", "Request was not processed because too many requests were received."
            )
            return error.status, error.body, {"Retry-After": str(throttled)}
        permission = PERMISSION_OF[operation]
        if permission not in allowed:
            raise KvError(
                403,
                "Forbidden",
                f"The user, group or application 'appid={token.client_id};iss=https://sts.windows.net/"
                f"{token.tenant_id}/' does not have secrets {permission} permission on key vault "
                f"'vaultsync-test;location=loopback'. For help resolving this issue, please see "
                "https://go.microsoft.com/fwlink/?linkid=2125287",
                "AccessDenied",
            )
        try:
            payload: Json = json.loads(body) if body else {}
        except ValueError:
            raise KvError(400, "BadParameter", "The request body is not valid JSON.") from None
        result = self._dispatch(operation, args, query, payload)
        return (204, None, {}) if result is None else (200, result, {})

    def _take_throttle(self, operation: str) -> int | None:
        for throttle in self._throttles:
            if throttle.remaining > 0 and throttle.operation in (None, operation):
                if throttle.after > 0:
                    throttle.after -= 1
                    continue
                throttle.remaining -= 1
                return throttle.retry_after
        return None

    def _dispatch(self, operation: str, args: list[str], query: dict[str, str], payload: Json) -> Json | None:
        vault = self.vault
        calls: dict[str, Callable[[], Json | None]] = {
            "SetSecret": lambda: vault.set_secret(args[0], payload),
            "GetSecret": lambda: vault.get_secret(args[0], args[1]),
            "UpdateSecret": lambda: vault.update_secret(args[0], args[1], payload),
            "DeleteSecret": lambda: vault.delete_secret(args[0]),
            "GetSecrets": lambda: vault.list_secrets(query),
            "GetSecretVersions": lambda: vault.list_versions(args[0], query),
            "GetDeletedSecrets": lambda: vault.list_deleted(query),
            "GetDeletedSecret": lambda: vault.get_deleted_secret(args[0]),
            "RecoverDeletedSecret": lambda: vault.recover_deleted_secret(args[0]),
            "PurgeDeletedSecret": lambda: vault.purge_deleted_secret(args[0]),
        }
        return calls[operation]()

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        owner = self

        class Handler(_Handler):
            pass

        Handler.owner = owner
        self._servers = [
            _Server(self.port, Handler, self._tls),
            _Server(self.authority_port, Handler, self._tls),
        ]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, name="keyvault-test-server", daemon=True).start()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
            server.drop_all()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The vault is down (listener closed, open connections dropped) inside the block; state is kept."""
        vault = self._servers[0]
        vault.shutdown()
        vault.server_close()
        vault.drop_all()
        try:
            yield
        finally:
            self._servers[0] = _Server(self.port, vault.RequestHandlerClass, self._tls)  # type: ignore[arg-type]
            threading.Thread(target=self._servers[0].serve_forever, daemon=True).start()
