"""The SDK edge of the Azure backend: client and credential construction, error translation.

Every ``SecretClient`` and credential the backend uses is built here (``caBundle`` trusted for
both the vault and the authority host, SDK retries off), and every SDK exception is turned into
the backend error tree here; messages never carry Key Vault's or Entra's response text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from azure.core import exceptions as azure_errors
from azure.core.pipeline.transport import RequestsTransport
from azure.core.polling import LROPoller
from azure.keyvault.secrets import SecretClient

from vaultsync.backends import errors
from vaultsync.backends.interface import Credentials
from vaultsync.backends.pools import pooled_session
from vaultsync.backends.registry import BackendContext

T = TypeVar("T")
# azure-core logs every request and response at INFO: one line per Key Vault call in the operator log.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
POLL_INTERVAL = 0.25
POLL_ATTEMPTS = 120
_DENIED = re.compile(r"does not have secrets (\w+) permission")
_TRANSIENT = frozenset({"ObjectIsBeingDeleted", "ObjectIsBeingRecovered"})


def _codes(error: azure_errors.HttpResponseError) -> tuple[str, str]:
    """(code, inner code) of a Key Vault error body."""
    body = error.error
    inner = getattr(body, "innererror", None) or {}
    return (
        getattr(body, "code", None) or "",
        str(inner.get("code") or "") if isinstance(inner, dict) else "",
    )


def translate(error: Exception, permission: str, what: str) -> errors.BackendError:
    if isinstance(error, ValueError):  # the SDK's challenge checks: the vault URL does not fit the vault
        return errors.InvalidConfig(f"{what}: the vault's authentication challenge was refused ({error})")
    if "CERTIFICATE_VERIFY_FAILED" in str(error):  # the vault's or the authority's certificate
        return errors.InvalidConfig(f"{what}: TLS verification failed; check caBundle")
    if isinstance(error, azure_errors.ClientAuthenticationError):
        return errors.PermissionDenied(
            f"{what}: authentication failed (the credential or its token was refused)"
        )
    if isinstance(error, (azure_errors.ServiceRequestError, azure_errors.ServiceResponseError)):
        return errors.Unavailable(f"{what}: Key Vault unreachable ({type(error).__name__})")
    if isinstance(error, azure_errors.ResourceNotFoundError):
        return errors.NotFound(f"{what}: not found")
    if isinstance(error, azure_errors.HttpResponseError):
        status = error.status_code or (409 if isinstance(error, azure_errors.ResourceExistsError) else 0)
        code, inner = _codes(error)
        if status == 403 and inner == "SecretDisabled":
            return errors.NotFound(f"{what}: the secret is disabled")
        if status in (401, 403):
            named = _DENIED.search(str(error.message))
            missing = named.group(1).lower() if named else permission
            return errors.PermissionDenied(f"{what}: forbidden", missing=[f"secrets/{missing}"])
        if status == 429:
            return errors.Throttled(f"{what}: throttled", retry_after=_retry_after(error))
        if status == 409 and inner in _TRANSIENT:
            return errors.Throttled(
                f"{what}: Key Vault is still deleting or recovering it ({inner})", retry_after=1.0
            )
        if status == 409:
            return errors.Conflict(
                f"{what}: conflicts with the vault's state ({inner or code}; deleted but recoverable?)"
            )
        if status in (400, 422):
            return errors.InvalidConfig(f"{what}: rejected by Key Vault (HTTP {status} {code})")
        return errors.Unavailable(f"{what}: Key Vault failed (HTTP {status})")
    return errors.Unavailable(f"{what}: {type(error).__name__}")


def _retry_after(error: azure_errors.HttpResponseError) -> float | None:
    headers: Mapping[str, str] = getattr(error.response, "headers", None) or {}
    value = headers.get("Retry-After")
    return float(value) if value and value.isdigit() else None


def finish(poller: LROPoller[T]) -> T:
    """Waits for a delete or recovery to complete: a Key Vault poller's ``result()`` does not wait."""
    poller.wait(timeout=POLL_INTERVAL * POLL_ATTEMPTS)
    if not poller.done():
        raise errors.Unavailable("Key Vault did not complete the operation in time")
    return poller.result()


def _ca_file(pem: str) -> Path:
    """The PEM bundle as a file, for the ``requests`` transport of both the vault and the authority.

    Named by its content and never removed: a backend that was replaced and closed may still be
    finishing a call, and the file holds public certificates only.
    """
    digest = hashlib.sha256(pem.encode()).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"vaultsync-ca-{digest}.pem"
    if not path.exists():
        handle, partial = tempfile.mkstemp(prefix="vaultsync-ca-", suffix=".partial")
        with os.fdopen(handle, "w") as out:
            out.write(pem)
        os.replace(partial, path)
    return path


def build_client(
    spec: Mapping[str, Any], credentials: Credentials, context: BackendContext
) -> tuple[SecretClient, list[Callable[[], None]]]:
    """The SecretClient of ``spec.provider.azure`` and what closing the backend must also close."""
    from azure.identity import ClientSecretCredential, WorkloadIdentityCredential  # noqa: PLC0415

    vault_url = spec.get("vaultUrl")
    auth = spec.get("auth") or {}
    if not vault_url:
        raise errors.InvalidConfig("azure.vaultUrl: required")
    transport: dict[str, Any] = {
        "connection_timeout": context.http_timeout,
        "read_timeout": context.http_timeout,
    }
    if credentials.get("caBundle"):
        transport["connection_verify"] = str(_ca_file(credentials["caBundle"]))
    authority: dict[str, Any] = {}
    if spec.get("authorityHost"):
        # An explicit authority is trusted as given: MSAL would otherwise validate a host it does
        # not know against the public cloud's instance discovery endpoint.
        authority = {"authority": spec["authorityHost"], "disable_instance_discovery": True}
    credential: Any
    if list(auth) == ["clientSecret"]:
        options = auth["clientSecret"] or {}
        if not options.get("tenantId") or not options.get("clientId") or "clientSecret" not in credentials:
            raise errors.InvalidConfig(
                "azure.auth.clientSecret: needs tenantId, clientId and a clientSecret reference"
            )
        credential = ClientSecretCredential(
            options["tenantId"], options["clientId"], credentials["clientSecret"], **authority, **transport
        )
    elif list(auth) == ["workloadIdentity"]:
        options = auth["workloadIdentity"] or {}
        if not options.get("tenantId") or not options.get("clientId"):
            raise errors.InvalidConfig("azure.auth.workloadIdentity: needs tenantId and clientId")
        token_file = {"token_file_path": options["tokenPath"]} if options.get("tokenPath") else {}
        credential = WorkloadIdentityCredential(
            tenant_id=options["tenantId"],
            client_id=options["clientId"],
            **token_file,
            **authority,
            **transport,
        )
    else:
        raise errors.InvalidConfig("azure.auth: set exactly one of clientSecret, workloadIdentity")
    # azure-core's own session pools 10 connections: as many as the sync threads instead (and no
    # retries of its own: retry_total says so, the backend retries).
    pooled = RequestsTransport(session=pooled_session(context.pool_size), session_owner=True, **transport)
    client = SecretClient(
        vault_url,
        credential,
        verify_challenge_resource=not spec.get("disableChallengeResourceVerification", False),
        retry_total=0,
        transport=pooled,
        **transport,
    )
    return client, [credential.close]
