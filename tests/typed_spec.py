"""ManagedSecret specs as a sync holds them (the typed ``api`` model), from the few fields a test needs."""

from __future__ import annotations

from typing import Any

from vaultsync.api.managedsecret import ManagedSecretSpec

MINIMAL: dict[str, Any] = {"type": "generic", "source": {"vaultProfile": {"name": "p"}, "path": "x"}}
"""The fields every spec must have: a type and a source."""


def typed_spec(**fields: Any) -> ManagedSecretSpec:
    """``fields`` (camelCase, as a body spells them) over :data:`MINIMAL`, parsed."""
    return ManagedSecretSpec.from_dict({**MINIMAL, **fields})
