"""When a workload is restarted after its Secret changed, and how (like ``kubectl rollout restart``).

Rule: a rollout restart follows a change of what vaultsync means the Secret to hold — a new
version of the content, a changed template, a changed referenced secret. It does not follow the
first creation of the Secret (pods waiting for it start on their own) nor a drift repair (the
Secret returns to what the pods were started with; restarting would let whoever edits the Secret
out of band restart production workloads at will).

Pure: the caller reads workloads and applies the patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

RESTARTED_AT_ANNOTATION = "vaultsync.io/restartedAt"
"""Pod-template annotation whose new value makes the workload controller roll its pods."""

RESTARTABLE_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class WriteCause(StrEnum):
    """Why a Kubernetes Secret target was written."""

    CREATED = "Created"
    CHANGED = "Changed"
    """The desired content changed (version, template or reference)."""
    DRIFT_REPAIRED = "DriftRepaired"


class RestartDecision(StrEnum):
    RESTART = "Restart"
    PAUSED = "Paused"
    """A paused Deployment is reported, never forced: someone paused it on purpose."""
    NOT_FOUND = "NotFound"


def restart_wanted(cause: WriteCause) -> bool:
    return cause is WriteCause.CHANGED


def decide_restart(kind: str, workload: Mapping[str, Any] | None) -> RestartDecision:
    if workload is None:
        return RestartDecision.NOT_FOUND
    if kind == "Deployment" and (workload.get("spec") or {}).get("paused"):
        return RestartDecision.PAUSED
    return RestartDecision.RESTART


def restart_patch(now: str) -> dict[str, Any]:
    """The strategic-merge patch that restarts a workload's pods, stamped with ``now``."""
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now}}}}}
