"""The values of one sync of one ManagedSecret: its run state, result, events and aborts.

Kept apart from the engine so that the engine reads as the order of the steps, and the status
assembly (``sync_status``) can share these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vaultsync.api.codec import ModelError, status_time
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.approvals.integrity import Recall
from vaultsync.compliance.verdict import Verdict
from vaultsync.reconcile.plan import Operation
from vaultsync.reconcile.status import Phase, Reason, SyncReport, next_status
from vaultsync.sync import templating
from vaultsync.sync.k8s_targets import SecretSnapshot
from vaultsync.sync.notices import Notice
from vaultsync.sync.profiles import ResolvedProfile

TRUE, FALSE = "True", "False"


class EventReason:
    """Event reasons: constants, so people and alerts can filter on them."""

    SYNCED = "Synced"
    DRIFT_CORRECTED = "DriftCorrected"
    TARGET_FAILED = "TargetFailed"
    SOURCE_FAILED = "SourceFailed"
    INVALID_CONTENT = "InvalidContent"
    INVALID_SPEC = "InvalidSpec"
    PENDING_APPROVAL = "PendingApproval"
    NON_COMPLIANT = "NonCompliant"
    EXPIRING_SOON = "ExpiringSoon"
    SYNC_FAILED = "SyncFailed"


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class SyncResult:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    failed: bool = False
    """True when something should be retried with backoff."""
    watched: dict[str, tuple[ResolvedProfile | None, str]] = field(default_factory=dict)
    """Target id or ``source`` -> (profile, path): what the change tracker should watch."""
    versions: dict[str, str] = field(default_factory=dict)
    """Target id or ``source`` -> the version id this sync read or wrote there. Backends use the
    version id as their change-listing token, so it is what the next refresh compares against."""
    related: list[Notice] = field(default_factory=list)
    """Events about other objects (workloads), posted after the sync."""
    apiserver_down: bool = False
    """The status could not be written because the API server is unreachable: the scheduler
    waits for it on one probe instead of retrying this secret alone."""

    def notify(self, notices: list[Notice]) -> SyncResult:
        self.events.extend(Event(n.type, n.reason, n.message) for n in notices if n.involved is None)
        self.related.extend(n for n in notices if n.involved is not None)
        return self


class SyncAborted(Exception):
    """The sync stops early; ``result`` says why in status and events."""

    def __init__(self, result: SyncResult) -> None:
        super().__init__(result.status.get("phase"))
        self.result = result


def gated_operations(profiles: list[ResolvedProfile]) -> set[Operation]:
    """The union of gated operations: the strictest policy of source and sync-target profiles wins."""
    gated: set[Operation] = set()
    for profile in profiles:
        if profile.approval is not None:
            gated.update(Operation(op) for op in profile.approval.operations)
    return gated


def refusal(
    body: Mapping[str, Any], reason: Reason, message: str, event: str, *, now: str, retry: bool
) -> SyncResult:
    """A sync that stops early: ``Failed`` with ``reason``, the rest of the previous status kept."""
    report = SyncReport(Phase.FAILED, reason, message, now, _generation(body))
    status = next_status(dict(body.get("status") or {}), report)
    return SyncResult(status, [Event("Warning", event, message)], failed=retry)


def spec_refused(body: Mapping[str, Any], error: ModelError) -> SyncResult:
    """A spec the model does not fit (an older CRD let it in): nothing is read or written, and it
    is not retried, since the same generation fails the same way; a new generation syncs at once."""
    message = (
        f"the spec does not fit this operator's ManagedSecret model at {error.path}: {error.problem}"
        " (is an older CRD installed?); nothing is synced until the spec changes"
    )
    event = EventReason.INVALID_SPEC
    return refusal(body, Reason.INVALID_SPEC, message, event, now=status_time(), retry=False)


def _generation(body: Mapping[str, Any]) -> int | None:
    generation = body["metadata"].get("generation")
    return int(generation) if generation is not None else None


@dataclass
class SyncRun:
    """The state of one sync call."""

    body: Mapping[str, Any]
    spec: ManagedSecretSpec
    """The body's spec, parsed once per generation (``spec_cache``): no step reads the raw spec."""
    now: str = field(default_factory=status_time)
    source_fingerprint: str | None = None
    rendered: dict[str, templating.RenderedTarget] = field(default_factory=dict)
    """Target id -> rendered data of templated Kubernetes Secrets."""
    rerendered: set[str] = field(default_factory=set)
    """Templated targets whose render changed while they held what was written: a change, not drift."""
    notes: list[Event] = field(default_factory=list)
    """Lifecycle events of this sync: content generated or rotated, soft-deleted targets restored."""
    rotated_at: str | None = None
    compliance: Verdict | None = None
    """What the compliance rules of the secret's profiles said about the content."""
    observed_versions: dict[str, str | None] = field(default_factory=dict)
    """Target id -> the version each target held when observed (kept in status for targets in sync)."""
    secrets_seen: dict[str, SecretSnapshot | None] = field(default_factory=dict)
    """Kubernetes Secret target id -> what observing it read (None: absent): the write needs no
    second GET, and its resourceVersion precondition refuses a Secret changed in between."""
    presumed_absent: set[str] = field(default_factory=set)
    """Targets not read: Kubernetes Secrets the managed names do not hold, and the vault copies of a
    ManagedSecret whose status records no target yet (created without a read, ``CreatesNew``)."""
    memory: Recall | None = None
    """The last push as the sealed approval record vouches for it (``handlers.approval_memory``)."""

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def owner(self) -> str:
        return f"{self.namespace}/{self.body['metadata']['name']}"

    @property
    def previous(self) -> dict[str, Any]:
        return dict(self.body.get("status") or {})

    @property
    def generation(self) -> int | None:
        return _generation(self.body)

    @property
    def secret_type(self) -> str:
        return str(self.spec.type)

    def owns(self, managed: bool, owner: str | None) -> bool:
        """True when a copy found in a target carries this resource's ownership marks."""
        return managed and owner == self.owner

    def report(self, phase: Phase, reason: Reason, message: str, **extra: Any) -> SyncReport:
        return SyncReport(phase, reason, message, self.now, self.generation, **extra)

    def abort(self, reason: Reason, message: str, event: str, *, retry: bool = True) -> SyncAborted:
        return SyncAborted(refusal(self.body, reason, message, event, now=self.now, retry=retry))
