"""The approval gate of one sync (or one deletion): ApprovalRequests opened, decided, pruned.

Blocking (runs in the sync worker thread, like the engine). It lists the requests of the
ManagedSecret, lets ``approvals.lifecycle.next_step`` decide, writes the request phases,
opens a new request when a gated change has none, and tells the engine whether to hold the
change (the status to write) or to push it (the approved fingerprint).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vaultsync.api.approvalrequest import ApprovalPhase
from vaultsync.api.codec import status_time
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.api.names import GROUP, VERSION
from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec
from vaultsync.approvals.admission import LAST_MODIFIED_BY
from vaultsync.approvals.integrity import recall
from vaultsync.approvals.lifecycle import (
    ApprovalStep,
    Outcome,
    RequestView,
    Verdict,
    Wanted,
    evaluate,
    next_step,
    summary_of,
)
from vaultsync.approvals.policy import ApprovalPolicy
from vaultsync.approvals.requests import request_body, source_of_identity
from vaultsync.backends.errors import BackendError
from vaultsync.backends.kube_http import resource_path
from vaultsync.reconcile.plan import ObservedTarget, Operation, SyncPlan
from vaultsync.reconcile.status import Phase, Reason, SyncReport, next_status
from vaultsync.reconcile.targets import ProfileKey, TargetKind
from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.fingerprint import fingerprint_of
from vaultsync.sync import k8s_targets
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError
from vaultsync.sync.profiles import ResolvedProfile

PLURAL = "approvalrequests"
DEAD_PHASES = (ApprovalPhase.SUPERSEDED, ApprovalPhase.EXPIRED)
LOGGER = logging.getLogger(__name__)
SOURCE_VAULT = "source vault"
"""``requestedBy`` of a change that came from the source vault rather than from a person."""


class ApprovalEvent:
    REQUESTED = "ApprovalRequested"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    EXPIRED = "ApprovalExpired"
    FAILED = "ApprovalFailed"
    FORGED = "ApprovalStatusForged"


@dataclass
class GateResult:
    held_status: dict[str, Any] | None = None
    """The status to write when the change must wait (or was rejected); ``None`` to go ahead."""
    approved_fingerprint: str | None = None
    """Set when a request's counted decisions approve exactly the content that would be pushed."""
    approved_by: RequestView | None = None
    """That request, for the sealed record of the push."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Status fields to set when the change goes ahead."""
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, reason, message) of the events to post."""
    retry: bool = False
    """True when the ApprovalRequests could not be read or written; the sync is retried."""


@dataclass(frozen=True)
class GateInput:
    """What one sync knows that the gate needs."""

    body: Mapping[str, Any]
    spec: ManagedSecretSpec
    plan: SyncPlan
    fingerprint: str
    content: SecretContent
    profiles: Sequence[ResolvedProfile]
    """Source profile first, then the sync-target profiles."""
    observed: Sequence[ObservedTarget | None]
    now: str


def policy_of(profiles: Sequence[tuple[ProfileKey, ApprovalSpec | None]]) -> ApprovalPolicy:
    return ApprovalPolicy.of_profiles((str(key), approval) for key, approval in profiles)


def profile_refs(namespace: str, spec: ManagedSecretSpec) -> list[ProfileKey]:
    """Source profile first, then sync-target profiles, as keys."""
    refs = [spec.source.vault_profile, *(t.vault_profile for t in spec.sync_targets)]
    return [ProfileKey(r.namespace or namespace, r.name) for r in refs]


class ApprovalGate:
    def __init__(self, kube: KubeApi, hmac_key: bytes, audit_trail: int = 10) -> None:
        self.kube = kube
        self.hmac_key = hmac_key
        self.audit_trail = audit_trail

    # -- sync ---------------------------------------------------------------------------------

    def review(self, gate: GateInput) -> GateResult:
        """Called on every sync; a ManagedSecret that is not gated and has no request costs nothing."""
        if not gate.plan.needs_approval and not (gate.body.get("status") or {}).get("approvalRequest"):
            return GateResult()  # nothing waits and nothing was waiting: no API call at all
        policy = policy_of([(p.key, p.approval) for p in gate.profiles])
        try:
            return self._review(gate, policy)
        except KubeStatusError as e:
            message = f"ApprovalRequests could not be read or written (HTTP {e.status}); retrying"
            report = SyncReport(
                Phase.PENDING_APPROVAL, Reason.APPROVAL_PENDING, message, gate.now, _generation(gate.body)
            )
            status = next_status(dict(gate.body.get("status") or {}), report)
            return GateResult(
                held_status=status, events=[("Warning", ApprovalEvent.FAILED, message)], retry=True
            )

    def _review(self, gate: GateInput, policy: ApprovalPolicy) -> GateResult:
        meta = gate.body["metadata"]
        plan = gate.plan
        wanted = (
            Wanted(str(plan.operation), gate.fingerprint, _generation(gate.body))
            if plan.needs_approval and plan.operation
            else None
        )
        step, forged = self._step(gate.body, wanted, policy, deleting=False)
        if step.outcome is Outcome.NONE or wanted is None:
            return GateResult(fields={"approvalRequest": None}, events=forged)
        if step.outcome is Outcome.APPROVED:
            message = f"{wanted.operation} approved by ApprovalRequest {step.current}"
            return GateResult(
                approved_fingerprint=wanted.fingerprint,
                approved_by=step.approved_by,
                fields={"approvalRequest": None, "approvedFingerprint": wanted.fingerprint},
                events=[*forged, ("Normal", ApprovalEvent.APPROVED, message)],
            )
        name, events = step.current, forged
        if step.outcome is Outcome.OPEN:
            body = self._request_body(gate, policy, wanted, step.attempt)
            name = self._create(meta["namespace"], body)
            events.append(
                ("Normal", ApprovalEvent.REQUESTED, f"{wanted.operation} waits for ApprovalRequest {name}")
            )
        return GateResult(held_status=self._held(gate.body, gate.now, step, wanted, name), events=events)

    def _held(
        self, body: Mapping[str, Any], now: str, step: ApprovalStep, wanted: Wanted, name: str | None
    ) -> dict[str, Any]:
        if step.outcome is Outcome.REJECTED:
            message = (
                f"{wanted.operation} was rejected ({step.message}); "
                "targets are untouched until the source or the spec changes"
            )
            phase, reason = Phase.REJECTED, Reason.REJECTED
        elif step.outcome is Outcome.EXPIRED:
            message = f"ApprovalRequest {name} expired; change the source or the spec to ask again"
            phase, reason = Phase.PENDING_APPROVAL, Reason.APPROVAL_PENDING
        else:
            message = (
                f"{wanted.operation} waits for ApprovalRequest {name}; nothing is pushed until it is approved"
            )
            phase, reason = Phase.PENDING_APPROVAL, Reason.APPROVAL_PENDING
        report = SyncReport(
            phase, reason, message, now, _generation(body), approval=("False", reason, message)
        )
        return next_status(dict(body.get("status") or {}), report, approvalRequest=name)

    def _request_body(
        self, gate: GateInput, policy: ApprovalPolicy, wanted: Wanted, attempt: int
    ) -> dict[str, Any]:
        meta = gate.body["metadata"]
        status: Mapping[str, Any] = gate.body.get("status") or {}
        operation = wanted.operation
        summary: dict[str, Any] = {}
        if operation == Operation.CREATE:
            summary = summary_of(None, dict(gate.content.fields))
        else:
            old_fields = self._old_fields(gate)
            if old_fields is not None:  # unknown when no target holds the last content any more
                summary = summary_of(old_fields, dict(gate.content.fields))
        if operation == Operation.CHANGE_SOURCE:
            old_source = source_of_identity(status.get("sourceIdentity"))
            if old_source is not None:
                summary["oldSource"] = old_source
            summary["newSource"] = gate.spec.source.to_dict()
        if status.get("consumers"):
            summary["consumers"] = list(status["consumers"])[:256]
        requested_by = SOURCE_VAULT if operation == Operation.UPDATE else _last_modified_by(gate.body)
        return request_body(
            meta,
            wanted,
            summary=summary,
            requested_by=requested_by,
            expires_at=_now() + policy.expires_after(operation),
            attempt=attempt,
        )

    def _old_fields(self, gate: GateInput) -> dict[str, Any] | None:
        """The content last synced, read back from a target that holds it (for key names only)."""
        last = (gate.body.get("status") or {}).get("fingerprint")
        secret_type = str(gate.spec.type)
        by_key = {p.key: p for p in gate.profiles[1:]}
        for target in gate.observed:
            if target is None or not last or target.fingerprint != last:
                continue
            try:
                if target.key.kind is TargetKind.VAULT and target.key.profile in by_key:
                    document = by_key[target.key.profile].backend.read(target.key.path).document
                else:
                    namespace = target.key.namespace or gate.body["metadata"]["namespace"]
                    snapshot = k8s_targets.read_target(self.kube, namespace, target.key.path)
                    document = k8s_targets.document_of(secret_type, snapshot)
                content = parse_content(secret_type, document)
            except (BackendError, SecretModelError):
                continue
            if fingerprint_of(content, self.hmac_key) == last:
                return dict(content.fields)
        return None

    def waiting_update(self, body: Mapping[str, Any], profiles: Sequence[ResolvedProfile]) -> str | None:
        """The newest Update request of this ManagedSecret while it is undecided, or approved but
        not pushed yet; else ``None``.

        Derived from its decisions and expiry like every phase (``approvals.lifecycle``), and from
        the sealed record of the last push.
        """
        policy = policy_of([(p.key, p.approval) for p in profiles])
        if not policy.gates(Operation.UPDATE):
            return None
        requests = [view for view, _ in self._requests(body)]
        if not requests:
            return None
        newest = max(requests, key=lambda r: (r.created, r.attempt))
        if newest.operation != Operation.UPDATE or newest.phase in DEAD_PHASES:
            return None  # a status can only let rotation go on (and open a new request)
        wanted = Wanted(newest.operation, newest.fingerprint, _generation(body))
        verdict = evaluate(newest, policy, wanted, _now())
        if verdict.phase is ApprovalPhase.APPROVED:
            uid = str(body["metadata"].get("uid") or "")
            pushed = recall(body.get("status") or {}, uid, self.hmac_key)
            return None if pushed.trusted and pushed.fingerprint == newest.fingerprint else newest.name
        return newest.name if verdict.phase is ApprovalPhase.PENDING else None

    # -- deletion -----------------------------------------------------------------------------

    def _step(
        self, body: Mapping[str, Any], wanted: Wanted | None, policy: ApprovalPolicy, *, deleting: bool
    ) -> tuple[ApprovalStep, list[tuple[str, str, str]]]:
        """The next approval step over the requests of one kind (deletes, or changes), with the
        request phases it moved written, and the events of forged decisions it found."""
        meta = body["metadata"]
        requests = [r for r in self._requests(body) if (r[0].operation == Operation.DELETE) == deleting]
        step = next_step(
            [view for view, _ in requests],
            wanted,
            policy,
            now=_now(),
            generation=meta.get("generation"),
            keep=self.audit_trail,
        )
        self._write_phases(meta["namespace"], step, requests)
        return step, _forged_events(step)

    def delete_gate(self, body: Mapping[str, Any], policy: ApprovalPolicy, now: str) -> GateResult:
        """Whether a gated delete may proceed; ``held_status`` set while it may not."""
        meta = body["metadata"]
        status: Mapping[str, Any] = body.get("status") or {}
        fingerprint = status.get("fingerprint")
        if not policy.gates(Operation.DELETE) or not fingerprint:
            return GateResult()
        wanted = Wanted(str(Operation.DELETE), str(fingerprint), _generation(body))
        step, forged = self._step(body, wanted, policy, deleting=True)
        if step.outcome is Outcome.APPROVED:
            return GateResult(
                events=[*forged, ("Normal", ApprovalEvent.APPROVED, f"Delete approved by {step.current}")]
            )
        name, events = step.current, forged
        if step.outcome is Outcome.OPEN:
            summary = summary_of(None, {})
            request = request_body(
                meta,
                wanted,
                summary=summary,
                requested_by=_last_modified_by(body),
                expires_at=_now() + policy.expires_after(Operation.DELETE),
                attempt=step.attempt,
            )
            name = self._create(meta["namespace"], request)
            events.append(("Normal", ApprovalEvent.REQUESTED, f"Delete waits for ApprovalRequest {name}"))
        return GateResult(held_status=self._held(body, now, step, wanted, name), events=events)

    # -- API ----------------------------------------------------------------------------------

    def _requests(self, body: Mapping[str, Any]) -> list[tuple[RequestView, Mapping[str, Any]]]:
        """The requests this ManagedSecret owns, each with its current status."""
        meta = body["metadata"]
        listed = self.kube.list_objects(PLURAL, meta["namespace"])
        return [
            (RequestView.of(item, self.hmac_key), item.get("status") or {})
            for item in listed
            if (item.get("spec") or {}).get("managedSecret") == meta["name"]
            and any(o.get("uid") == meta.get("uid") for o in item["metadata"].get("ownerReferences") or [])
        ]

    def _create(self, namespace: str, body: dict[str, Any]) -> str:
        name = str(body["metadata"]["name"])
        try:
            self.kube.write(
                "POST", resource_path(GROUP, VERSION, PLURAL, namespace), body, counted=f"create/{PLURAL}"
            )
        except KubeStatusError as e:
            if e.status != 409:
                raise
        return name

    def _write_phases(
        self, namespace: str, step: ApprovalStep, requests: Sequence[tuple[RequestView, Mapping[str, Any]]]
    ) -> None:
        statuses = {view.name: status for view, status in requests}
        for name, verdict in step.updates.items():
            status = _request_status(verdict)
            previous = statuses.get(name) or {}
            if all(previous.get(k) == status[k] for k in ("phase", "approvals", "message")):
                continue
            self._patch_status(namespace, name, status)
        for name in step.prune:
            try:
                self.kube.write(
                    "DELETE",
                    resource_path(GROUP, VERSION, PLURAL, namespace, name),
                    None,
                    counted=f"delete/{PLURAL}",
                )
            except KubeStatusError as e:  # pruning is housekeeping: it never holds a sync
                if e.status != 404:
                    LOGGER.warning(
                        "could not prune ApprovalRequest %s/%s (HTTP %s)", namespace, name, e.status
                    )

    def _patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        try:
            self.kube.patch_status(PLURAL, namespace, name, status)
        except KubeStatusError as e:
            if e.status != 404:
                raise


def _forged_events(step: ApprovalStep) -> list[tuple[str, str, str]]:
    return [
        (
            "Warning",
            ApprovalEvent.FORGED,
            f"ApprovalRequest {name} shows a decision in its status that its sealed decisions, recounted "
            "now, do not support; status is display only: it was ignored and corrected",
        )
        for name in step.forged
    ]


def _request_status(verdict: Verdict) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": str(verdict.phase),
        "approvals": verdict.approvals,
        "message": verdict.message,
    }
    if verdict.phase != "Pending":
        status["decidedAt"] = status_time(_now())
    return status


def _last_modified_by(body: Mapping[str, Any]) -> str | None:
    value = (body["metadata"].get("annotations") or {}).get(LAST_MODIFIED_BY)
    return str(value) if value else None


def _generation(body: Mapping[str, Any]) -> int | None:
    generation = body["metadata"].get("generation")
    return int(generation) if generation is not None else None


def _now() -> datetime:
    return datetime.now(UTC)
