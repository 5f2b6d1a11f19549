"""The life of an ApprovalRequest, as a function of the request, the current content and the time.

Pure. The operator lists the requests of one ManagedSecret, says which change is waiting
(operation and fingerprint of exactly the content that would be pushed) and calls
``next_step``; it gets back the phases to write, whether to open a new request, what the
ManagedSecret may do now, and which decided requests to prune from the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from vaultsync.api.approvalrequest import ApprovalPhase, Decision
from vaultsync.approvals.policy import ApprovalPolicy, Approver

GENERATION_ANNOTATION = "vaultsync.io/managed-secret-generation"
"""The ManagedSecret generation a request was opened at: a rejected change is asked again only
after the spec (or the content) changes."""
ATTEMPT_ANNOTATION = "vaultsync.io/attempt"
FINAL_PHASES = frozenset(
    {ApprovalPhase.APPROVED, ApprovalPhase.REJECTED, ApprovalPhase.EXPIRED, ApprovalPhase.SUPERSEDED}
)
DEFAULT_AUDIT_TRAIL = 10
MAX_NAME = 253


@dataclass(frozen=True)
class DecisionView:
    decision: Decision
    user: str | None
    groups: tuple[str, ...] = ()
    comment: str | None = None


@dataclass(frozen=True)
class RequestView:
    """What the lifecycle needs from one ApprovalRequest body."""

    name: str
    operation: str
    fingerprint: str
    phase: ApprovalPhase = ApprovalPhase.PENDING
    requested_by: str | None = None
    expires_at: datetime | None = None
    decisions: tuple[DecisionView, ...] = ()
    generation: int | None = None
    attempt: int = 1
    created: str = ""

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> RequestView:
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        annotations = meta.get("annotations") or {}
        phase = (body.get("status") or {}).get("phase")
        generation = annotations.get(GENERATION_ANNOTATION)
        return cls(
            name=str(meta.get("name")),
            operation=str(spec.get("operation")),
            fingerprint=str(spec.get("fingerprint")),
            phase=ApprovalPhase(phase) if phase else ApprovalPhase.PENDING,
            requested_by=spec.get("requestedBy"),
            expires_at=parse_time(spec.get("expiresAt")),
            decisions=tuple(
                DecisionView(
                    Decision(d["decision"]), d.get("user"), tuple(d.get("groups") or ()), d.get("comment")
                )
                for d in spec.get("decisions") or ()
            ),
            generation=int(generation) if generation and str(generation).isdigit() else None,
            attempt=int(annotations.get(ATTEMPT_ANNOTATION) or 1),
            created=str(meta.get("creationTimestamp") or ""),
        )

    @property
    def approvers(self) -> tuple[Approver, ...]:
        return tuple(
            Approver(d.user, d.groups) for d in self.decisions if d.decision is Decision.APPROVE and d.user
        )


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def request_name(managed_secret: str, operation: str, fingerprint: str, attempt: int = 1) -> str:
    """``<secret>-<operation>-<10 hex of the fingerprint>[-<attempt>]``: the same change, the same name."""
    digest = fingerprint.rsplit(":", 1)[-1][:10]
    suffix = f"-{operation.lower()}-{digest}" + (f"-{attempt}" if attempt > 1 else "")
    return managed_secret[: MAX_NAME - len(suffix)].rstrip("-.") + suffix


@dataclass(frozen=True)
class Verdict:
    phase: ApprovalPhase
    approvals: int
    message: str


def evaluate(request: RequestView, policy: ApprovalPolicy, wanted: Wanted | None, now: datetime) -> Verdict:
    """The phase a request should be in now. Final phases never change."""
    approvals = policy.eligible_count(request.operation, request.approvers, request.requested_by)
    if request.phase in FINAL_PHASES:
        return Verdict(request.phase, approvals, "")
    if wanted is None or (wanted.operation, wanted.fingerprint) != (request.operation, request.fingerprint):
        return Verdict(
            ApprovalPhase.SUPERSEDED,
            approvals,
            "superseded: the change it describes is no longer the one waiting",
        )
    if _spec_moved(request, wanted):
        return Verdict(ApprovalPhase.SUPERSEDED, approvals, "superseded: the ManagedSecret's spec changed")
    for decision in request.decisions:
        rejects = decision.decision is Decision.REJECT and decision.user
        if rejects and policy.is_approver(request.operation, Approver(str(decision.user), decision.groups)):
            return Verdict(ApprovalPhase.REJECTED, approvals, f"rejected by {decision.user}")
    missing = policy.missing_approvals(request.operation, request.approvers, request.requested_by)
    if not missing:
        names = ", ".join(sorted({a.user for a in request.approvers}))
        return Verdict(ApprovalPhase.APPROVED, approvals, f"approved by {names}")
    if request.expires_at is not None and now >= request.expires_at:
        return Verdict(ApprovalPhase.EXPIRED, approvals, f"expired at {format_time(request.expires_at)}")
    needed = "; ".join(f"{count} more from {profile}" for profile, count in sorted(missing.items()))
    return Verdict(ApprovalPhase.PENDING, approvals, f"waiting for approvals: {needed}")


SPEC_OPERATIONS = frozenset({"Create", "ChangeSource"})
"""Operations that come from the spec: approving them approves the spec they were opened at."""


def _spec_moved(request: RequestView, wanted: Wanted) -> bool:
    return (
        request.operation in SPEC_OPERATIONS
        and None not in (request.generation, wanted.generation)
        and request.generation != wanted.generation
    )


@dataclass(frozen=True)
class Wanted:
    """The change waiting for approval now."""

    operation: str
    fingerprint: str
    generation: int | None = None
    """The ManagedSecret generation now: a Create or ChangeSource is about the spec too."""


class Outcome(StrEnum):
    NONE = "None"
    """Nothing is gated now."""
    OPEN = "Open"
    """A new request must be created; the change waits."""
    WAIT = "Wait"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    EXPIRED = "Expired"


@dataclass(frozen=True)
class ApprovalStep:
    outcome: Outcome
    current: str | None = None
    """Name of the request the ManagedSecret waits for (or that approved/rejected its change)."""
    attempt: int = 1
    """Attempt number of a request to open."""
    updates: Mapping[str, Verdict] = field(default_factory=dict)
    """Requests whose phase (or approval count) must be written."""
    prune: tuple[str, ...] = ()
    message: str = ""


def next_step(
    requests: Sequence[RequestView],
    wanted: Wanted | None,
    policy: ApprovalPolicy,
    *,
    now: datetime,
    generation: int | None,
    keep: int = DEFAULT_AUDIT_TRAIL,
) -> ApprovalStep:
    """What to do with the requests of one ManagedSecret, given the change waiting now."""
    updates: dict[str, Verdict] = {}
    current_views: list[RequestView] = []
    for request in requests:
        verdict = evaluate(request, policy, wanted, now)
        if request.phase not in FINAL_PHASES:
            updates[request.name] = verdict
        current_views.append(replace(request, phase=verdict.phase))
    prune = _prunable(current_views, keep)
    if wanted is None:
        return ApprovalStep(Outcome.NONE, updates=updates, prune=prune)
    matching = sorted(
        (r for r in current_views if (r.operation, r.fingerprint) == (wanted.operation, wanted.fingerprint)),
        key=lambda r: r.attempt,
    )
    if not matching:
        return ApprovalStep(Outcome.OPEN, attempt=1, updates=updates, prune=prune)
    latest = matching[-1]
    verdict = updates.get(latest.name) or Verdict(latest.phase, 0, f"request {latest.name} is {latest.phase}")
    reopen = ApprovalStep(Outcome.OPEN, attempt=latest.attempt + 1, updates=updates, prune=prune)
    if latest.phase is ApprovalPhase.PENDING:
        return ApprovalStep(Outcome.WAIT, latest.name, updates=updates, prune=prune, message=verdict.message)
    if latest.phase is ApprovalPhase.APPROVED:
        return ApprovalStep(Outcome.APPROVED, latest.name, updates=updates, prune=prune)
    if latest.phase in (ApprovalPhase.REJECTED, ApprovalPhase.EXPIRED):
        if latest.generation is not None and generation is not None and latest.generation != generation:
            return reopen
        outcome = Outcome.REJECTED if latest.phase is ApprovalPhase.REJECTED else Outcome.EXPIRED
        return ApprovalStep(outcome, latest.name, updates=updates, prune=prune, message=verdict.message)
    return reopen


def _prunable(requests: Sequence[RequestView], keep: int) -> tuple[str, ...]:
    """The oldest decided requests beyond ``keep``; pending requests are never pruned."""
    decided = sorted((r for r in requests if r.phase in FINAL_PHASES), key=lambda r: (r.created, r.name))
    return tuple(r.name for r in decided[: max(0, len(decided) - keep)])


def summary_of(old_fields: Mapping[str, Any] | None, new_fields: Mapping[str, Any]) -> dict[str, Any]:
    """The key part of ``spec.summary``: names of keys added, removed and changed. Never values."""
    old = old_fields or {}
    return {
        "keysAdded": sorted(set(new_fields) - set(old)),
        "keysRemoved": sorted(set(old) - set(new_fields)),
        "keysChanged": sorted(k for k in set(old) & set(new_fields) if old[k] != new_fields[k]),
    }
