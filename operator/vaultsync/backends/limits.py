"""How much one secret may hold in each kind of target, checked before a write sends anything.

A too-large value used to reach the target and fail there (Kubernetes: "HTTP 422"), or, worse,
succeed on an emulator and fail on the real service. Each backend now measures what it would
store, the way it encodes it, and refuses with :class:`TooLarge` as the first step of ``write``:
the oversized target is never touched (no half-written metadata or staged version), its status
names the target, the limit and the size, and the secret's other targets still sync.

Pure: sizes are computed from the document, without I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vaultsync.backends.errors import InvalidConfig

MIB = 1024 * 1024
KUBERNETES_SECRET_BYTES = 1 * MIB
"""The API server's limit on a Secret's data: the sum of its keys' and values' lengths."""
AWS_SECRET_STRING_BYTES = 65_536
"""Secrets Manager's limit on ``SecretString`` (64 KiB)."""
AZURE_SECRET_VALUE_BYTES = 25 * 1024
"""Key Vault's limit on a secret value (25 KiB)."""
VAULT_MAX_REQUEST_BYTES = 32 * MIB
"""Vault's and OpenBao's default listener ``max_request_size``; a profile's server may differ."""


class TooLarge(InvalidConfig):
    """The content does not fit the target; no retry helps until the content shrinks."""

    def __init__(self, what: str, size: int, limit: int, store: str) -> None:
        super().__init__(f"{what}: {size} bytes exceed the limit of {limit} bytes of {store}")
        self.size = size
        self.limit = limit


def check_size(what: str, size: int, limit: int, store: str) -> None:
    """Raise :class:`TooLarge` naming ``what``, the limit and the size when ``size`` exceeds ``limit``."""
    if size > limit:
        raise TooLarge(what, size, limit, store)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def kubernetes_data_size(data: Mapping[str, bytes]) -> int:
    """What the API server counts against :data:`KUBERNETES_SECRET_BYTES`: keys plus decoded values."""
    return sum(len(key.encode("utf-8")) + len(value) for key, value in data.items())


def check_kubernetes_secret(namespace: str, name: str, data: Mapping[str, bytes]) -> None:
    """The one size check of a Secret, for the kubernetes backend and the Secret targets alike."""
    size = kubernetes_data_size(data)
    check_size(f"Secret {namespace}/{name}", size, KUBERNETES_SECRET_BYTES, "a Kubernetes Secret")


def json_request_size(body: Mapping[str, Any]) -> int:
    """Bytes of a JSON request body as an HTTP client sends it."""
    return utf8_size(json.dumps(body))
