"""The Microsoft Entra side of the test server: tenants' client secrets and the tokens issued.

The token endpoint answers what ``azure-identity``'s ``ClientSecretCredential`` (through MSAL)
asks for when its authority host is overridden and instance discovery is off: the tenant's
OpenID configuration (``/{tenant}/v2.0/.well-known/openid-configuration``) and the v2 token
endpoint (``POST /{tenant}/oauth2/v2.0/token``, ``grant_type=client_credentials``). Errors use
the OAuth2 shape ``{"error", "error_description"}`` with the AADSTS codes of the real service.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VAULT_RESOURCE = "https://vault.azure.net"
TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class Token:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class Directory:
    """One tenant's registered applications (client id -> client secret) and issued tokens."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._clients: dict[str, str] = {}
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def register(self, client_id: str, client_secret: str) -> None:
        with self._lock:
            self._clients[client_id] = client_secret

    def openid_configuration(self, authority: str, tenant: str) -> dict[str, Any]:
        self._check_tenant(tenant)
        base = f"{authority}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "token"],
        }

    def _check_tenant(self, tenant: str) -> None:
        if tenant != self.tenant_id:
            raise OAuthError(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")

    def issue(self, tenant: str, form: Mapping[str, str]) -> dict[str, Any]:
        self._check_tenant(tenant)
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "AADSTS70003: The grant type is not supported.")
        client_id = form.get("client_id", "")
        with self._lock:
            known = self._clients.get(client_id)
        if known is None:
            raise OAuthError(
                400, "unauthorized_client", f"AADSTS700016: Application '{client_id}' not found."
            )
        if not secrets.compare_digest(known, form.get("client_secret", "")):
            raise OAuthError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        scopes = form.get("scope", "").split()
        resources = [scope.removesuffix("/.default") for scope in scopes if scope.endswith("/.default")]
        if len(resources) != 1:
            raise OAuthError(
                400, "invalid_scope", "AADSTS1002012: The scope must be one <resource>/.default."
            )
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = Token(client_id, tenant, resources[0], time.time() + TOKEN_LIFETIME)
            self.issued += 1
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        }

    def check(self, bearer: str, audience: str) -> Token | None:
        """The valid token behind ``bearer`` for ``audience``, else None."""
        with self._lock:
            token = self._tokens.get(bearer)
        if token is None or token.expires_at < time.time() or token.audience.rstrip("/") != audience:
            return None
        return token

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()
