"""What deactivating a ManagedSecret does to each target, and what reactivating must undo.

Inactive means "nobody should be using this secret": Kubernetes Secrets are removed so workloads
fail loudly (a missing Secret is a clear pod error; a stale value is not); vault copies are
disabled where the vault supports it (Azure Key Vault) and left as they are elsewhere, because
deleting them would lose history that reactivation cannot restore. Reactivating re-enables what
was disabled and lets the ordinary sync re-create the rest from the source.

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

INACTIVE_STATES = ("Deleted", "Disabled", "Retained")
"""``status.targets[].state`` values written while Inactive."""


class VaultAction(StrEnum):
    DISABLE = "Disable"
    LEAVE = "Leave"


def vault_action(can_disable: bool) -> VaultAction:
    return VaultAction.DISABLE if can_disable else VaultAction.LEAVE


def previously_disabled(previous_targets: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(vaultProfile, path) of the vault targets the last status records as Disabled."""
    return {
        (str(entry.get("vaultProfile")), str(entry.get("path")))
        for entry in previous_targets
        if entry.get("kind") == "Vault" and entry.get("state") == "Disabled"
    }


def was_inactive(previous: Mapping[str, Any]) -> bool:
    return previous.get("phase") == "Inactive"
