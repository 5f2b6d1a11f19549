"""Delete with a recovery window, and restore instead of recreate within it.

``deletionPolicy: Delete`` soft-deletes every vault copy with ``OperatorSettings.retention_days``
(AWS recovery window, Azure soft delete, Vault/OpenBao KV v2 delete that keeps the metadata)
and removes Kubernetes Secrets. A ManagedSecret recreated with the same namespace/name finds
its soft-deleted copies at the same paths and restores them (``Backend.restore`` with the
owner check), so versions come back instead of starting over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.backends.errors import BackendError, NotFound, NotOwned
from vaultsync.backends.interface import Backend, RemoteSecret
from vaultsync.reconcile.retention import CopyDeletion, CopyFate
from vaultsync.reconcile.targets import vault_target
from vaultsync.sync import k8s_targets
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.profiles import ProfileError, ProfileMissing, ProfileResolver

RESTORED = "Restored"


def read_or_restore(backend: Backend, path: str, owner: str) -> tuple[RemoteSecret, bool]:
    """The copy at ``path``; a soft-deleted copy of the same owner is restored first.

    Returns (remote, restored). Raises :class:`NotFound` when nothing of ours can come back.
    """
    try:
        return backend.read(path), False
    except NotFound:
        if not backend.capabilities.soft_delete:
            raise
        try:
            backend.restore(path, owner=owner)
        except (NotFound, NotOwned):
            raise NotFound(f"{path}: not found") from None
    return backend.read(path), True


def delete_copies(
    kube: KubeApi,
    profiles: ProfileResolver,
    body: Mapping[str, Any],
    spec: ManagedSecretSpec,
    recovery_days: int,
) -> list[CopyDeletion]:
    """Deletes what this ManagedSecret owns in every target; one outcome per target. The caller
    holds the resource's guard (``SyncEngine.delete_targets``)."""
    meta = body["metadata"]
    namespace, owner = str(meta["namespace"]), f"{meta['namespace']}/{meta['name']}"
    outcomes: list[CopyDeletion] = []
    for target in spec.sync_targets:
        where = target.path
        try:
            profile = profiles.resolve(namespace, target.vault_profile)
            key = vault_target(profile.key, target.path, target.environment or spec.source.environment)
            where = key.describe()
            result = profile.backend.delete(key.path, owner=owner, recovery_days=recovery_days)
        except (NotFound, NotOwned):
            outcomes.append(CopyDeletion(where, CopyFate.ABSENT))
            continue
        except ProfileMissing as e:
            outcomes.append(CopyDeletion(where, CopyFate.FAILED, problem=f"{where}: {e}", profile_gone=True))
            continue
        except (BackendError, ProfileError) as e:
            outcomes.append(CopyDeletion(where, CopyFate.FAILED, problem=f"{where}: {e}"))
            continue
        fate = CopyFate.RESTORABLE if result.restorable else CopyFate.PERMANENTLY_DELETED
        outcomes.append(CopyDeletion(where, fate, result.restorable_until))
    for secret in spec.kubernetes_secrets:
        secret_namespace = secret.namespace or namespace
        where = f"Secret {secret_namespace}/{secret.name}"
        try:
            k8s_targets.delete_target(kube, secret_namespace, secret.name, owner)
        except BackendError as e:
            outcomes.append(CopyDeletion(where, CopyFate.FAILED, problem=f"{where}: {e}"))
            continue
        outcomes.append(CopyDeletion(where, CopyFate.PERMANENTLY_DELETED))
    return outcomes
