"""Admission of ApprovalRequest writes: who may decide, and what a decision may change.

Pure: functions of the old and new objects, the authenticated identity of the API request,
the combined policy and the time. The kopf webhook in ``handlers/webhook.py`` calls them:
``stamp_decisions`` from the mutating webhook (overwrites ``user``, ``groups`` and ``at`` of
new decisions with the real identity, whatever the client sent, and seals them: see
``approvals.integrity``) and ``admission_problem``
from the validating webhook (a message when the write must be refused, else ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vaultsync.api.approvalrequest import ApprovalPhase, Decision
from vaultsync.api.codec import status_time
from vaultsync.approvals.integrity import decision_is_sealed, decision_seal
from vaultsync.approvals.lifecycle import FINAL_PHASES, parse_time
from vaultsync.approvals.policy import ApprovalPolicy, Approver

IMMUTABLE_SPEC_FIELDS = ("managedSecret", "operation", "fingerprint", "summary", "requestedBy", "expiresAt")
LAST_MODIFIED_BY = "vaultsync.io/last-modified-by"
"""ManagedSecret annotation stamped by the mutating webhook with the user who last changed the spec."""


def _decisions(body: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list(((body or {}).get("spec") or {}).get("decisions") or [])


def stamp_decisions(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], who: Approver, now: datetime, key: bytes
) -> list[dict[str, Any]] | None:
    """``spec.decisions`` with every decision added by this write stamped and sealed under ``key``;
    ``None`` if none was added."""
    before = len(_decisions(old))
    decisions = [dict(d) for d in _decisions(new)]
    if len(decisions) <= before:
        return None
    request_uid = str(((old or {}).get("metadata") or {}).get("uid") or "")
    for index, decision in enumerate(decisions[before:], start=before):
        decision["user"] = who.user
        decision["groups"] = list(who.groups)
        decision["at"] = status_time(now)
        decision["seal"] = decision_seal(key, request_uid, index, decision)
    return decisions


def admission_problem(
    operation: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    who: Approver,
    policy: ApprovalPolicy,
    now: datetime,
    key: bytes,
    operator_user: str | None = None,
) -> str | None:
    """Why this CREATE or UPDATE of an ApprovalRequest must be refused, or ``None`` to admit it.

    ``operator_user`` is the operator's own identity: when known, only it may open requests,
    so nobody can pre-create one with a convenient ``requestedBy``. ``key`` tells sealed
    decisions from ones written while the webhook was away (those never block anyone).
    """
    if operation == "CREATE":
        if operator_user is not None and who.user != operator_user:
            return "ApprovalRequests are opened by the vaultsync operator only"
        if _decisions(new):
            return "spec.decisions must be empty when a request is created; decisions are added by approvers"
        return None
    if operation != "UPDATE" or old is None:
        return None
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    changed = [f for f in IMMUTABLE_SPEC_FIELDS if old_spec.get(f) != new_spec.get(f)]
    if changed:
        return f"spec.{changed[0]} cannot change; only spec.decisions may be appended to"
    before, after = _decisions(old), _decisions(new)
    if len(after) < len(before) or any(a != b for a, b in zip(before, after, strict=False)):
        return "earlier decisions cannot be edited or removed; append a new decision instead"
    added = after[len(before) :]
    if not added:
        return None
    return _decision_problem(old, added, before, who=who, policy=policy, now=now, key=key)


def _decision_problem(
    old: Mapping[str, Any],
    added: Sequence[Mapping[str, Any]],
    before: Sequence[Mapping[str, Any]],
    *,
    who: Approver,
    policy: ApprovalPolicy,
    now: datetime,
    key: bytes,
) -> str | None:
    spec = old.get("spec") or {}
    name = (old.get("metadata") or {}).get("name", "")
    uid = str((old.get("metadata") or {}).get("uid") or "")
    operation = str(spec.get("operation"))
    if len(added) > 1:
        return "add one decision at a time"
    phase = (old.get("status") or {}).get("phase") or ApprovalPhase.PENDING
    if phase in FINAL_PHASES:
        return f"ApprovalRequest {name} is already {phase}; decisions are closed"
    expires_at = parse_time(spec.get("expiresAt"))
    if expires_at is not None and now >= expires_at:
        return f"ApprovalRequest {name} expired at {status_time(expires_at)}; decisions are closed"
    decision = added[0]
    if decision.get("user") != who.user:
        return "spec.decisions[].user is stamped by the admission webhook and must be the requesting user"
    if not policy.is_approver(operation, who):
        return f"{who.user} is not an approver of {operation} for ManagedSecret {spec.get('managedSecret')}"
    if any(d.get("user") == who.user and decision_is_sealed(key, uid, i, d) for i, d in enumerate(before)):
        return f"{who.user} has already decided on ApprovalRequest {name}"
    if (
        decision.get("decision") == Decision.APPROVE
        and who.user == spec.get("requestedBy")
        and not policy.allows_self_approval(operation)
    ):
        return f"{who.user} requested this change and cannot approve it (allowSelfApproval is false)"
    return None


def stamp_last_modified_by(
    operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any], who: Approver
) -> str | None:
    """The ``vaultsync.io/last-modified-by`` value a ManagedSecret write must carry.

    The requesting user when the write creates the resource or changes its spec; otherwise
    the previous value, so a client can never set the annotation itself.
    """
    previous = ((old or {}).get("metadata") or {}).get("annotations") or {}
    if operation == "CREATE" or (old or {}).get("spec") != new.get("spec"):
        return who.user
    value = previous.get(LAST_MODIFIED_BY)
    return str(value) if value is not None else None
