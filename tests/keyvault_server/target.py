"""Which Key Vault the Azure tests run on: Lowkey Vault when its jar can be had, else the protocol server.

``VAULTSYNC_AZURE_SERVER`` forces the choice: ``lowkey`` (its absence is an error), ``protocol``
(do not try Lowkey), or ``auto`` (the default). The chosen server and the reason are reported
at the end of the test session (``pytest_terminal_summary`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from keyvault_server.server import PERMISSIONS, KeyVaultTestServer
from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.interface import Credentials
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync_devstack import Stack
from vaultsync_devstack.lowkey import LowkeyUnavailable

HTTP_TIMEOUT = 2.0
CLIENT_ID = "vaultsync-test-app"


class StaticToken:
    """Lowkey Vault checks that a bearer token is present, not what it says."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("lowkey-accepts-any-token", int(time.time()) + 3600)


@dataclass
class AzureVault:
    """A running Key Vault for tests, and how to reach it as vaultsync and as a foreign writer."""

    name: str
    """``lowkey`` or ``keyvault-protocol-server``."""
    vault_url: str
    reason: str
    stopped: Callable[[], AbstractContextManager[Any]]
    server: KeyVaultTestServer | None = None
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def add_principal(self, client_id: str, permissions: tuple[str, ...] = PERMISSIONS) -> str:
        """A new application with these secret permissions; returns its client secret."""
        if self.server is None:
            raise RuntimeError("Lowkey Vault does not enforce access policies")
        secret = secrets.token_urlsafe(16)
        self.server.add_principal(client_id, secret, permissions)
        return secret

    def profile_spec(self, client_id: str = CLIENT_ID, ref: str = "azure-sp") -> dict[str, Any]:
        """``spec.provider.azure`` of a VaultProfile; credentials in Secret ``ref``."""
        if self.server is None:
            raise RuntimeError("profiles need the token endpoint of the protocol server")
        return {
            "vaultUrl": self.vault_url,
            "authorityHost": self.server.authority,
            # The server is reached as localhost: no vault domain for the challenge's resource to match.
            "disableChallengeResourceVerification": True,
            "caBundle": {"name": ref, "key": "ca.crt"},
            "auth": {
                "clientSecret": {
                    "tenantId": self.server.tenant_id,
                    "clientId": client_id,
                    "secretRef": {"name": ref, "key": "clientSecret"},
                }
            },
        }

    def credentials(self, client_secret: str | None = None) -> dict[str, str]:
        """The Secret data the profile of :meth:`profile_spec` references."""
        assert self.server is not None
        return {
            "clientSecret": client_secret or self.client_secret,
            "ca.crt": self.server.ca_path.read_text(),
        }

    def backend(self, client_id: str = CLIENT_ID, client_secret: str | None = None) -> AzureBackend:
        if self.server is None:
            return AzureBackend(self.raw_client())
        data = self.credentials(client_secret)
        backend = create_backend(
            "azure",
            self.profile_spec(client_id),
            Credentials({"clientSecret": data["clientSecret"], "caBundle": data["ca.crt"]}),
            context=BackendContext(http_timeout=HTTP_TIMEOUT),
        )
        assert isinstance(backend, AzureBackend)
        return backend

    def raw_client(self) -> SecretClient:
        """A plain SDK client with full access, for planting and inspecting secrets."""
        options: dict[str, Any] = {
            "verify_challenge_resource": False,
            "retry_total": 0,
            "connection_timeout": HTTP_TIMEOUT,
            "read_timeout": HTTP_TIMEOUT,
        }
        if self.server is None:
            return SecretClient(self.vault_url, StaticToken(), connection_verify=False, **options)
        credential = ClientSecretCredential(
            self.server.tenant_id,
            CLIENT_ID,
            self.client_secret,
            authority=self.server.authority,
            disable_instance_discovery=True,
            connection_verify=str(self.server.ca_path),
        )
        return SecretClient(self.vault_url, credential, connection_verify=str(self.server.ca_path), **options)


def start_azure_vault(stack: Stack) -> AzureVault:
    choice = os.environ.get("VAULTSYNC_AZURE_SERVER", "auto")
    reason = "VAULTSYNC_AZURE_SERVER=protocol"
    if choice in ("auto", "lowkey"):
        try:
            lowkey = stack.lowkey
        except LowkeyUnavailable as unavailable:
            if choice == "lowkey":
                raise
            reason = f"Lowkey Vault unavailable: {unavailable}"
        else:
            return AzureVault("lowkey", lowkey.vault_url, "Lowkey Vault jar available", lowkey.stopped)
    return protocol_vault(stack.state / "keyvault-test-server", reason)


def protocol_vault(state_dir: Path, reason: str) -> AzureVault:
    """A started protocol server with the full-access principal ``CLIENT_ID``; stop its ``server``."""
    server = KeyVaultTestServer(state_dir)
    server.start()
    vault = AzureVault(server.name, server.vault_url, reason, server.stopped, server)
    server.add_principal(CLIENT_ID, vault.client_secret)
    return vault
