"""Where one ManagedSecret's content must go: the identity of every target.

A target is either a path in a sync vault (named by its VaultProfile) or a Kubernetes
Secret. Its ``id`` is the stable key of ``status.targets[]`` entries and of drift memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaultsync.api.managedsecret_status import TargetKind as TargetKind

DEFAULT_ENVIRONMENT = "default"
ENVIRONMENT_PLACEHOLDER = "{environment}"


@dataclass(frozen=True)
class ProfileKey:
    """A VaultProfile by namespace and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class TargetKey:
    """One destination of the content."""

    kind: TargetKind
    path: str
    """Vault path (placeholders resolved) or the Kubernetes Secret's name."""
    profile: ProfileKey | None = None
    """The sync vault's profile; ``None`` for Kubernetes Secrets."""
    namespace: str | None = None
    """The Kubernetes Secret's namespace; ``None`` for vault targets."""

    @property
    def id(self) -> str:
        if self.kind is TargetKind.VAULT:
            return f"vault:{self.profile}:{self.path}"
        return f"secret:{self.namespace}/{self.path}"

    def describe(self) -> str:
        """A short human name for conditions and events."""
        if self.kind is TargetKind.VAULT:
            return f"{self.profile}:{self.path}"
        return f"Secret {self.namespace}/{self.path}"


def resolve_path(path: str, environment: str | None) -> str:
    """Substitutes ``{environment}`` (default ``default``) in a vault path."""
    return path.replace(ENVIRONMENT_PLACEHOLDER, environment or DEFAULT_ENVIRONMENT)


def vault_target(profile: ProfileKey, path: str, environment: str | None) -> TargetKey:
    return TargetKey(TargetKind.VAULT, resolve_path(path, environment), profile=profile)


def secret_target(namespace: str, name: str) -> TargetKey:
    return TargetKey(TargetKind.KUBERNETES_SECRET, name, namespace=namespace)
