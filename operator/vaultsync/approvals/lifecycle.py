"""The life of an ApprovalRequest, as a function of the request, the current content and the time.

Pure. The operator lists the requests of one ManagedSecret, says which change is waiting
(operation and fingerprint of exactly the content that would be pushed) and calls
``next_step``; it gets back the phases to write, whether to open a new request, what the
ManagedSecret may do now, and which decided requests to prune from the audit trail.

A request's phase is derived, never read back: from its sealed decisions (see
``approvals.integrity``), recounted against the policy of now, from its ``expiresAt`` and from
the change waiting now. ``status.phase`` is display only: the operator writes it, and reads it
only to leave a decided request's audit entry alone and to notice a status it did not write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from vaultsync.api.approvalrequest import ApprovalPhase, Decision
from vaultsync.api.codec import status_time
from vaultsync.approvals.integrity import decision_is_sealed, decisions_digest
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
    at: datetime | None = None
    sealed: bool = True
    """Whether the admission webhook's seal verifies; an unsealed decision never counts."""


@dataclass(frozen=True)
class RequestView:
    """What the lifecycle needs from one ApprovalRequest body."""

    name: str
    operation: str
    fingerprint: str
    phase: ApprovalPhase = ApprovalPhase.PENDING
    """The phase its status displays: never an input to what counts."""
    requested_by: str | None = None
    expires_at: datetime | None = None
    decisions: tuple[DecisionView, ...] = ()
    generation: int | None = None
    attempt: int = 1
    created: str = ""
    uid: str = ""
    digest: str = ""
    """``decisions_digest`` of its decisions, for the ManagedSecret's approval record."""

    @classmethod
    def of(cls, body: Mapping[str, Any], key: bytes) -> RequestView:
        """The view of a request body; ``key`` checks the seal of each decision."""
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        annotations = meta.get("annotations") or {}
        phase = (body.get("status") or {}).get("phase")
        generation = annotations.get(GENERATION_ANNOTATION)
        uid = str(meta.get("uid") or "")
        raw = list(spec.get("decisions") or ())
        return cls(
            name=str(meta.get("name")),
            operation=str(spec.get("operation")),
            fingerprint=str(spec.get("fingerprint")),
            phase=ApprovalPhase(phase) if phase else ApprovalPhase.PENDING,
            requested_by=spec.get("requestedBy"),
            expires_at=parse_time(spec.get("expiresAt")),
            decisions=tuple(
                DecisionView(
                    Decision(d["decision"]),
                    d.get("user"),
                    tuple(d.get("groups") or ()),
                    d.get("comment"),
                    parse_time(d.get("at")),
                    decision_is_sealed(key, uid, index, d),
                )
                for index, d in enumerate(raw)
            ),
            generation=int(generation) if generation and str(generation).isdigit() else None,
            attempt=_attempt(annotations.get(ATTEMPT_ANNOTATION)),
            created=str(meta.get("creationTimestamp") or ""),
            uid=uid,
            digest=decisions_digest(raw),
        )

    @property
    def counted(self) -> tuple[DecisionView, ...]:
        """The decisions that can count: sealed, stamped with a user, made before ``expiresAt``."""
        return tuple(
            d
            for d in self.decisions
            if d.sealed and d.user and (self.expires_at is None or d.at is None or d.at < self.expires_at)
        )

    @property
    def approvers(self) -> tuple[Approver, ...]:
        return tuple(Approver(str(d.user), d.groups) for d in self.counted if d.decision is Decision.APPROVE)


def _attempt(text: Any) -> int:
    return int(text) if text and str(text).isdigit() and int(text) > 0 else 1


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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


def decided(request: RequestView, policy: ApprovalPolicy) -> Verdict | None:
    """Approved or Rejected by its counted decisions, in the order they were made; else ``None``.

    Recounted against ``policy`` as it is now: an approver removed from the policy no longer counts.
    """
    counted: list[Approver] = []
    operation = request.operation
    for decision in request.counted:
        who = Approver(str(decision.user), decision.groups)
        if not policy.is_approver(operation, who):
            continue
        if decision.decision is Decision.REJECT:
            approvals = policy.eligible_count(operation, counted, request.requested_by)
            return Verdict(ApprovalPhase.REJECTED, approvals, f"rejected by {decision.user}")
        counted.append(who)
        if policy.gates(operation) and not policy.missing_approvals(operation, counted, request.requested_by):
            names = ", ".join(sorted({a.user for a in counted}))
            approvals = policy.eligible_count(operation, counted, request.requested_by)
            return Verdict(ApprovalPhase.APPROVED, approvals, f"approved by {names}")
    return None


def evaluate(
    request: RequestView,
    policy: ApprovalPolicy,
    wanted: Wanted | None,
    now: datetime,
    *,
    newer: bool = False,
) -> Verdict:
    """The phase a request is in now, derived from its decisions, its expiry and the change waiting.

    ``newer`` is True when a request for another change of the same ManagedSecret was opened
    after this one: the change it describes went away, so its approval cannot come back with it.
    """
    approvals = policy.eligible_count(request.operation, request.approvers, request.requested_by)
    if wanted is None or (wanted.operation, wanted.fingerprint) != (request.operation, request.fingerprint):
        return Verdict(
            ApprovalPhase.SUPERSEDED,
            approvals,
            "superseded: the change it describes is no longer the one waiting",
        )
    if _spec_moved(request, wanted):
        return Verdict(ApprovalPhase.SUPERSEDED, approvals, "superseded: the ManagedSecret's spec changed")
    if newer:
        return Verdict(ApprovalPhase.SUPERSEDED, approvals, "superseded: a later change was requested")
    verdict = decided(request, policy)
    if verdict is not None:
        return verdict
    if request.expires_at is not None and now >= request.expires_at:
        return Verdict(ApprovalPhase.EXPIRED, approvals, f"expired at {status_time(request.expires_at)}")
    missing = policy.missing_approvals(request.operation, request.approvers, request.requested_by)
    needed = "; ".join(f"{count} more from {profile}" for profile, count in sorted(missing.items()))
    return Verdict(ApprovalPhase.PENDING, approvals, f"waiting for approvals: {needed}")


def displayed(request: RequestView, verdict: Verdict, policy: ApprovalPolicy) -> Verdict | None:
    """The status to write for ``request``, or ``None`` to leave its status as it is.

    A decided request keeps its entry in the audit trail when it is later superseded or expires;
    a final phase its own decisions do not support (a status someone else wrote) is corrected.
    """
    shown = request.phase
    # Dead stays dead (see _effective): its change coming back opens a new request, and the old
    # one is not shown Pending meanwhile.
    revived = (
        shown in (ApprovalPhase.SUPERSEDED, ApprovalPhase.EXPIRED) and verdict.phase is ApprovalPhase.PENDING
    )
    keep = (
        verdict.phase in (ApprovalPhase.SUPERSEDED, ApprovalPhase.EXPIRED)
        or verdict.phase is shown
        or revived
    )
    if shown in FINAL_PHASES and keep and displayed_is_genuine(request, policy):
        return None
    return verdict


def displayed_is_genuine(request: RequestView, policy: ApprovalPolicy) -> bool:
    """Whether the phase its status shows could have been written by the operator."""
    if request.phase in (ApprovalPhase.APPROVED, ApprovalPhase.REJECTED):
        verdict = decided(request, policy)
        return verdict is not None and verdict.phase is request.phase
    return True


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
    """Requests whose status (phase, approval count, message) must be written."""
    prune: tuple[str, ...] = ()
    message: str = ""
    approved_by: RequestView | None = None
    """The request whose counted decisions approve the change (``Outcome.APPROVED``)."""
    forged: tuple[str, ...] = ()
    """Requests whose status shows a decision their own decisions do not support."""


def _effective(request: RequestView, verdict: Verdict) -> ApprovalPhase:
    """The phase that decides what happens: the derived one. A status can only withhold: a
    request shown Superseded or Expired stays dead even if its change comes back."""
    dead = request.phase in (ApprovalPhase.SUPERSEDED, ApprovalPhase.EXPIRED)
    return request.phase if dead and verdict.phase is ApprovalPhase.PENDING else verdict.phase


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
    verdicts: dict[str, Verdict] = {}
    current_views: list[RequestView] = []
    forged: list[str] = []
    for request in requests:
        newer = any(
            (other.operation, other.fingerprint) != (request.operation, request.fingerprint)
            and other.created > request.created
            for other in requests
        )
        verdict = verdicts[request.name] = evaluate(request, policy, wanted, now, newer=newer)
        if not displayed_is_genuine(request, policy):
            forged.append(request.name)
        shown = displayed(request, verdict, policy)
        if shown is not None:
            updates[request.name] = shown
        current_views.append(replace(request, phase=_effective(request, verdict)))
    common: dict[str, Any] = {
        "updates": updates,
        "prune": _prunable(current_views, keep),
        "forged": tuple(forged),
    }
    if wanted is None:
        return ApprovalStep(Outcome.NONE, **common)
    matching = sorted(
        (r for r in current_views if (r.operation, r.fingerprint) == (wanted.operation, wanted.fingerprint)),
        key=lambda r: r.attempt,
    )
    if not matching:
        return ApprovalStep(Outcome.OPEN, attempt=1, **common)
    latest = matching[-1]
    message = verdicts[latest.name].message
    reopen = ApprovalStep(Outcome.OPEN, attempt=latest.attempt + 1, **common)
    if latest.phase is ApprovalPhase.PENDING:
        return ApprovalStep(Outcome.WAIT, latest.name, message=message, **common)
    if latest.phase is ApprovalPhase.APPROVED:
        return ApprovalStep(Outcome.APPROVED, latest.name, approved_by=latest, **common)
    if latest.phase in (ApprovalPhase.REJECTED, ApprovalPhase.EXPIRED):
        if latest.generation is not None and generation is not None and latest.generation != generation:
            return reopen
        outcome = Outcome.REJECTED if latest.phase is ApprovalPhase.REJECTED else Outcome.EXPIRED
        return ApprovalStep(outcome, latest.name, message=message, **common)
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
