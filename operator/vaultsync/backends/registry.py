"""One registry from a VaultProfile's provider one-of key to the backend that serves it.

Backend modules are imported on first use, so an operator that only talks to Vault never
imports boto3 or the Azure SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultsync.backends.errors import InvalidConfig
from vaultsync.backends.interface import Backend, Credentials
from vaultsync.backends.limits import VAULT_MAX_REQUEST_BYTES
from vaultsync.backends.pools import DEFAULT_POOL_SIZE
from vaultsync.backends.retry import RetryPolicy


@dataclass(frozen=True)
class BackendContext:
    """What a backend needs besides its spec and credentials."""

    http_timeout: float = 10.0
    """Seconds for connect and read of every vault call."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How throttled calls are retried."""
    kube_http: Any = None
    """A :class:`vaultsync.backends.kube_http.KubeHttp`; required by the kubernetes backend only."""
    profile_namespace: str | None = None
    """Namespace of the VaultProfile; the kubernetes backend's default namespace."""
    environ: Mapping[str, str] | None = None
    """The environment the env backend reads (``os.environ`` when ``None``)."""
    pool_size: int = DEFAULT_POOL_SIZE
    """HTTP connections kept per vault client: the number of threads that may call it at once."""
    vault_max_request_bytes: int = VAULT_MAX_REQUEST_BYTES
    """The ``max_request_size`` of the Vault/OpenBao servers; larger writes are refused before sending."""


BackendFactory = Callable[[Mapping[str, Any], Credentials, BackendContext], Backend]

PROVIDERS: Mapping[str, str] = {
    "hashicorp": "vaultsync.backends.hashicorp",
    "aws": "vaultsync.backends.aws",
    "azure": "vaultsync.backends.azure",
    "kubernetes": "vaultsync.backends.kubernetes",
    "env": "vaultsync.backends.env",
}
"""Provider one-of key -> module exposing ``from_spec(spec, credentials, context)``."""


def factory_for(provider_key: str) -> BackendFactory:
    """The ``from_spec`` of the backend module registered for ``provider_key``."""
    module_name = PROVIDERS.get(provider_key)
    if module_name is None:
        raise InvalidConfig(f"unknown provider {provider_key!r}; expected one of {sorted(PROVIDERS)}")
    factory: BackendFactory = importlib.import_module(module_name).from_spec
    return factory


def create_backend(
    provider_key: str,
    spec: Mapping[str, Any],
    credentials: Credentials | None = None,
    *,
    http_timeout: float = 10.0,
    context: BackendContext | None = None,
) -> Backend:
    """Build the backend for one VaultProfile provider spec and its resolved credentials."""
    ctx = context if context is not None else BackendContext(http_timeout=http_timeout)
    return factory_for(provider_key)(spec, credentials or Credentials(), ctx)
