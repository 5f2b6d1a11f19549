"""Delete with a recovery window, and restore instead of recreate within it.

``deletionPolicy: Delete`` soft-deletes every vault copy with ``OperatorSettings.retention_days``
(AWS recovery window, Azure soft delete, Vault/OpenBao KV v2 delete that keeps the metadata)
and removes Kubernetes Secrets. A ManagedSecret recreated with the same namespace/name finds
its soft-deleted copies at the same paths and restores them (``Backend.restore`` with the
owner check), so versions come back instead of starting over.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import kopf

from vaultsync.api.codec import status_time
from vaultsync.backends.errors import BackendError, NotFound, NotOwned
from vaultsync.backends.interface import Backend, RemoteSecret
from vaultsync.handlers import k8s_targets
from vaultsync.handlers.exclusive import serialized_per_resource
from vaultsync.handlers.kubeapi import KubeApi
from vaultsync.handlers.profiles import ProfileError, ProfileMissing, ProfileResolver
from vaultsync.reconcile.retention import (
    CopyDeletion,
    CopyFate,
    deleting_fields,
    deletion_message,
    left_behind_message,
    planned_window,
    release_due,
    summarize,
)
from vaultsync.reconcile.targets import vault_target

if TYPE_CHECKING:
    from vaultsync.handlers.runtime import Runtime

PLURAL = "managedsecrets"
RESTORED = "Restored"
DELETED = "Deleted"
LEFT_BEHIND = "CopiesLeftBehind"


def _parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


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


@serialized_per_resource(body_at=2, retire=True)
def delete_copies(
    kube: KubeApi, profiles: ProfileResolver, body: Mapping[str, Any], recovery_days: int
) -> list[CopyDeletion]:
    """Deletes what this ManagedSecret owns in every target; one outcome per target."""
    spec, meta = body.get("spec") or {}, body["metadata"]
    namespace, owner = meta["namespace"], f"{meta['namespace']}/{meta['name']}"
    source_env = spec["source"].get("environment")
    outcomes: list[CopyDeletion] = []
    for target in spec.get("syncTargets") or []:
        where = str(target["path"])
        try:
            profile = profiles.resolve(namespace, target["vaultProfile"])
            key = vault_target(profile.key, target["path"], target.get("environment") or source_env)
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
    for target in spec.get("kubernetesSecrets") or []:
        secret_namespace = target.get("namespace") or namespace
        where = f"Secret {secret_namespace}/{target['name']}"
        try:
            k8s_targets.delete_target(kube, secret_namespace, target["name"], owner)
        except BackendError as e:
            outcomes.append(CopyDeletion(where, CopyFate.FAILED, problem=f"{where}: {e}"))
            continue
        outcomes.append(CopyDeletion(where, CopyFate.PERMANENTLY_DELETED))
    return outcomes


async def delete_with_retention(rt: Runtime, body: kopf.Body, logger: kopf.Logger) -> None:
    """The on.delete work for ``deletionPolicy: Delete``: status Deleting, soft delete, an Event."""
    days = rt.settings.retention_days
    ns, name = body.metadata.namespace, body.metadata.name
    now = datetime.now(UTC)
    fields = deleting_fields(dict(body.get("status") or {}), now, planned_window(now, days))
    await rt.run(rt.kube.patch_status, PLURAL, ns, name, fields)
    deletions = await rt.run(rt.engine.delete_targets, dict(body))
    summary = summarize(deletions)
    if summary.restorable_until is not None:
        await rt.run(
            rt.kube.patch_status, PLURAL, ns, name, {"restorableUntil": status_time(summary.restorable_until)}
        )
    if not summary.done:
        deleted_at = _parsed(body.metadata.get("deletionTimestamp"))
        wait = timedelta(seconds=rt.settings.orphan_release_seconds)
        terminating = await rt.run(rt.kube.namespace_terminating, ns)
        if release_due(
            deletions, namespace_terminating=terminating, deleted_at=deleted_at, now=now, wait=wait
        ):
            message = left_behind_message(summary, now - deleted_at if deleted_at else wait)
            kopf.warn(body, reason=LEFT_BEHIND, message=message)
            logger.warning("%s: %s", LEFT_BEHIND, message)
            return
        raise kopf.TemporaryError("could not delete every target: " + "; ".join(summary.problems), delay=10)
    message = deletion_message(summary, days)
    kopf.info(body, reason=DELETED, message=message)
    logger.info("%s: %s", DELETED, message)
