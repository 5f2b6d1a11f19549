"""Deactivating and reactivating a ManagedSecret (``spec.state``), target by target.

Inactive: each Kubernetes Secret target is deleted (only when this ManagedSecret owns it), with a
Warning Event on the ManagedSecret and on every workload that uses the Secret, so the failure
that follows names its cause; vault copies are disabled where the vault can
(``capabilities.can_disable``) and left untouched elsewhere. Active again: disabled copies are
re-enabled here, and the ordinary sync re-creates the Secrets from the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.backends.errors import BackendError, NotFound, NotOwned
from vaultsync.reconcile.activation import VaultAction, previously_disabled, vault_action, was_inactive
from vaultsync.reconcile.status import TargetOutcome, TargetState
from vaultsync.reconcile.targets import TargetKey, secret_target, vault_target
from vaultsync.sync import k8s_targets
from vaultsync.sync.consumer_index import ConsumerIndex
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.list_watch import owner_of
from vaultsync.sync.notices import Notice, NoticeReason
from vaultsync.sync.profiles import ProfileError, ProfileResolver, ResolvedProfile

INACTIVE_MESSAGE = "spec.state is Inactive: sync is stopped and the Kubernetes Secrets are removed"


def _vault_keys(
    profiles: ProfileResolver, namespace: str, spec: ManagedSecretSpec
) -> list[tuple[TargetKey | None, ResolvedProfile | None, str]]:
    """(key, profile, problem) of every sync target; key and profile are None when unresolvable."""
    found: list[tuple[TargetKey | None, ResolvedProfile | None, str]] = []
    for target in spec.sync_targets:
        try:
            profile = profiles.resolve(namespace, target.vault_profile)
        except ProfileError as e:
            found.append((None, None, f"{target.path}: {e.message}"))
            continue
        key = vault_target(profile.key, target.path, target.environment or spec.source.environment)
        found.append((key, profile, ""))
    return found


def deactivate_targets(
    kube: KubeApi,
    profiles: ProfileResolver,
    index: ConsumerIndex,
    body: Mapping[str, Any],
    spec: ManagedSecretSpec,
) -> tuple[list[TargetOutcome], list[Notice]]:
    owner = owner_of(body)
    namespace = body["metadata"]["namespace"]
    previous = {
        (e.get("vaultProfile"), e.get("path")): e.get("state")
        for e in (body.get("status") or {}).get("targets") or []
    }
    outcomes: list[TargetOutcome] = []
    notices: list[Notice] = []
    for key, profile, problem in _vault_keys(profiles, namespace, spec):
        if key is None or profile is None:
            notices.append(Notice("Warning", NoticeReason.TARGET_DISABLED, problem))
            continue
        already = previous.get((str(key.profile), key.path)) == TargetState.DISABLED
        outcomes.append(_disable_copy(profile, key, owner, already, notices))
    for secret in spec.kubernetes_secrets:
        key = secret_target(secret.namespace or namespace, secret.name)
        outcomes.append(_remove_secret(kube, index, key, owner, notices))
    return outcomes, notices


def _disable_copy(
    profile: ResolvedProfile, key: TargetKey, owner: str, already: bool, notices: list[Notice]
) -> TargetOutcome:
    if vault_action(profile.backend.capabilities.can_disable) is VaultAction.LEAVE:
        message = f"left in place: {profile.provider_key} cannot disable a secret"
        return TargetOutcome(key, TargetState.RETAINED, message=message)
    if already:  # disabled by an earlier sync of this Inactive spell: no vault write per refresh
        return TargetOutcome(key, TargetState.DISABLED, message="disabled while Inactive")
    try:
        profile.backend.set_enabled(key.path, False, owner=owner)
    except (NotFound, NotOwned) as e:
        return TargetOutcome(key, TargetState.RETAINED, message=f"not disabled: {e}")
    except BackendError as e:
        return TargetOutcome(key, TargetState.FAILED, message=f"disabling failed: {e}")
    notices.append(
        Notice("Normal", NoticeReason.TARGET_DISABLED, f"{key.describe()} disabled: {INACTIVE_MESSAGE}")
    )
    return TargetOutcome(key, TargetState.DISABLED, message="disabled while Inactive")


def _remove_secret(
    kube: KubeApi, index: ConsumerIndex, key: TargetKey, owner: str, notices: list[Notice]
) -> TargetOutcome:
    namespace = str(key.namespace)
    try:
        snapshot = k8s_targets.read_target(kube, namespace, key.path)
        if not snapshot.managed or snapshot.owner != owner:
            return TargetOutcome(
                key, TargetState.RETAINED, message="not owned by this ManagedSecret; left in place"
            )
        removed = k8s_targets.delete_target(kube, namespace, key.path, owner)
    except NotFound:
        removed = False
    except BackendError as e:
        return TargetOutcome(key, TargetState.FAILED, message=f"removing failed: {e}")
    if removed:
        consumers = index.consumers_of([(namespace, key.path)])
        used_by = ", ".join(f"{c.kind} {c.name}" for c in consumers) or "no known workload"
        notices.append(
            Notice(
                "Warning",
                NoticeReason.SECRET_REMOVED,
                f"{key.describe()} removed because ManagedSecret {owner} is Inactive (spec.state);"
                f" used by {used_by}",
            )
        )
        for consumer in consumers:
            notices.append(
                Notice(
                    "Warning",
                    NoticeReason.SECRET_DEACTIVATED,
                    f"Secret {key.path} was removed because ManagedSecret {owner} is Inactive"
                    " (spec.state); it comes back when the ManagedSecret is Active again",
                    index.object_ref(consumer),
                )
            )
    return TargetOutcome(key, TargetState.DELETED, message="removed while Inactive")


def reactivate_targets(
    targets: Sequence[ResolvedProfile], body: Mapping[str, Any], spec: ManagedSecretSpec
) -> list[Notice]:
    """Re-enables the vault copies the last status records as Disabled; notes the reactivation."""
    previous = body.get("status") or {}
    disabled = previously_disabled(previous.get("targets") or [])
    notices: list[Notice] = []
    if was_inactive(previous):
        notices.append(
            Notice(
                "Normal",
                NoticeReason.REACTIVATED,
                "spec.state is Active: restoring every target from the source",
            )
        )
    if not disabled:
        return notices
    for target, profile in zip(spec.sync_targets, targets, strict=True):
        key = vault_target(profile.key, target.path, target.environment or spec.source.environment)
        if (str(key.profile), key.path) not in disabled or not profile.backend.capabilities.can_disable:
            continue
        try:
            profile.backend.set_enabled(key.path, True, owner=owner_of(body))
        except BackendError as e:
            notices.append(
                Notice("Warning", NoticeReason.REACTIVATED, f"{key.describe()}: re-enabling failed: {e}")
            )
    return notices
