"""Events about objects other than the ManagedSecret being synced: workloads it affects.

A sync runs in a worker thread and only describes what to post; the handlers post after the
sync, through kopf's event queue, like the ManagedSecret's own events.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectRef:
    """Enough of an object to post an Event about it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str | None = None

    def as_body(self) -> dict[str, object]:
        metadata = {"namespace": self.namespace, "name": self.name}
        if self.uid:
            metadata["uid"] = self.uid
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}


@dataclass(frozen=True)
class Notice:
    """An Event to post; ``involved`` is None for the ManagedSecret itself."""

    type: str  # Normal | Warning
    reason: str
    message: str
    involved: ObjectRef | None = None


class NoticeReason:
    """Event reasons of deactivation, templates and rollouts: constants to filter on."""

    DEACTIVATED = "Deactivated"
    REACTIVATED = "Reactivated"
    SECRET_REMOVED = "SecretRemoved"  # noqa: S105 - an event reason
    SECRET_DEACTIVATED = "SecretDeactivated"  # noqa: S105 - an event reason
    TARGET_DISABLED = "TargetDisabled"
    TEMPLATE_FAILED = "TemplateFailed"
    ROLLOUT_RESTARTED = "RolloutRestarted"
    ROLLOUT_SKIPPED = "RolloutSkipped"
