"""Rollout restarts of the workloads listed in ``kubernetesSecrets[].rolloutRestart``.

Pods read Secrets at start (env) or see them change late (volumes), so after a change of what a
Secret should hold, the listed Deployments, StatefulSets and DaemonSets get the pod-template
annotation patch ``kubectl rollout restart`` makes. When to restart is ``reconcile.rollout``'s
rule; a paused Deployment is reported, never forced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from vaultsync.api.managedsecret import KubernetesSecretTarget, ManagedSecretSpec
from vaultsync.backends.kube_http import STRATEGIC_PATCH, resource_path
from vaultsync.reconcile.plan import WriteReason
from vaultsync.reconcile.rollout import (
    RestartDecision,
    WriteCause,
    decide_restart,
    restart_patch,
    restart_wanted,
)
from vaultsync.reconcile.status import TargetOutcome, TargetState, entry_id
from vaultsync.reconcile.targets import TargetKey, TargetKind, secret_target
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError
from vaultsync.sync.notices import Notice, NoticeReason, ObjectRef

_PLURALS = MappingProxyType(
    {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
)


def write_cause(reason: WriteReason, rerendered: bool) -> WriteCause:
    """How a target write reads for rollouts; a re-render (template or reference changed) is a change."""
    if reason is WriteReason.MISSING:
        return WriteCause.CREATED
    if reason is WriteReason.UPDATE or rerendered:
        return WriteCause.CHANGED
    return WriteCause.DRIFT_REPAIRED


def restart_for(
    kube: KubeApi,
    key: TargetKey,
    *,
    cause: WriteCause,
    target_spec: KubernetesSecretTarget,
    owner: str,
    now: str,
) -> tuple[str | None, list[Notice]]:
    """Restarts the target's workloads when ``cause`` calls for it; (target message, notices)."""
    listed = target_spec.rollout_restart
    if not listed or not restart_wanted(cause):
        return None, []
    namespace = str(key.namespace)
    problems: list[str] = []
    notices: list[Notice] = []
    for workload in listed:
        kind, name = str(workload.kind), workload.name
        what = f"{kind} {namespace}/{name}"
        path = resource_path("apps", "v1", _PLURALS[kind], namespace, name)
        try:
            found = kube.get(path)
        except KubeStatusError as e:
            problems.append(f"{what}: reading failed (HTTP {e.status})")
            continue
        decision = decide_restart(kind, found)
        if decision is RestartDecision.NOT_FOUND:
            problems.append(f"{what} not found; not restarted")
            continue
        ref = ObjectRef("apps/v1", kind, namespace, name, (found or {}).get("metadata", {}).get("uid"))
        if decision is RestartDecision.PAUSED:
            message = f"{what} is paused; not restarted after {key.describe()} changed"
            problems.append(f"{what} is paused; not restarted")
            notices.append(Notice("Warning", NoticeReason.ROLLOUT_SKIPPED, message))
            notices.append(Notice("Warning", NoticeReason.ROLLOUT_SKIPPED, message, ref))
            continue
        try:
            kube.write(
                "PATCH",
                path,
                restart_patch(now),
                counted=f"patch/{kind.lower()}",
                content_type=STRATEGIC_PATCH,
            )
        except KubeStatusError as e:
            problems.append(f"{what}: restart failed (HTTP {e.status})")
            continue
        message = f"{what} restarted: {key.describe()} changed (ManagedSecret {owner})"
        notices.append(Notice("Normal", NoticeReason.ROLLOUT_RESTARTED, message))
        notices.append(Notice("Normal", NoticeReason.ROLLOUT_RESTARTED, message, ref))
    for problem in problems:
        if "paused" not in problem:
            notices.append(Notice("Warning", NoticeReason.ROLLOUT_SKIPPED, f"{key.describe()}: {problem}"))
    return ("; ".join(problems) or None), notices


def restart_after_push(
    kube: KubeApi,
    body: Mapping[str, Any],
    spec: ManagedSecretSpec,
    *,
    writes: Sequence[tuple[TargetKey, WriteReason]],
    outcomes: dict[str, TargetOutcome],
    rerendered: set[str],
    now: str,
) -> list[Notice]:
    """Restarts the workloads of every Kubernetes Secret written successfully by this sync.

    A problem (paused, missing workload) becomes the target's ``message`` in ``outcomes``.
    """
    namespace = body["metadata"]["namespace"]
    owner = f"{namespace}/{body['metadata']['name']}"
    specs = {secret_target(s.namespace or namespace, s.name).id: s for s in spec.kubernetes_secrets}
    notices: list[Notice] = []
    for key, reason in writes:
        outcome = outcomes.get(key.id)
        if key.id not in specs or outcome is None or outcome.state is not TargetState.SYNCED:
            continue
        cause = write_cause(reason, key.id in rerendered)
        message, found = restart_for(kube, key, cause=cause, target_spec=specs[key.id], owner=owner, now=now)
        if message:
            outcomes[key.id] = replace(outcome, message=message)
        notices.extend(found)
    return notices


def keep_messages(
    ordered: Sequence[TargetOutcome], previous_targets: Sequence[Mapping[str, Any]]
) -> list[TargetOutcome]:
    """A rollout problem stays on a Kubernetes Secret target until the Secret is written again."""
    by_id = {entry_id(entry): entry for entry in previous_targets}
    kept: list[TargetOutcome] = []
    for outcome in ordered:
        before = by_id.get(outcome.key.id) or {}
        if (
            outcome.key.kind is TargetKind.KUBERNETES_SECRET
            and outcome.state is TargetState.SYNCED
            and outcome.message is None
            and outcome.synced_at is None  # not written by this sync (it carries the version seen)
            and "not restarted" in str(before.get("message") or "")
        ):
            kept.append(replace(outcome, message=str(before["message"])))
        else:
            kept.append(outcome)
    return kept
