"""``ApprovalRequest``: a gated change to a ManagedSecret waiting for people.

What the request is about (secret, operation, fingerprint of the exact content) cannot change
after creation, and decisions can only be appended, so an approval always refers to the
content that will be pushed. The admission webhook stamps ``user`` and ``at`` of each decision.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import (
    CONDITIONS_SCHEMA,
    DNS_SUBDOMAIN,
    SECRET_DATA_KEY,
    SHORT_TEXT,
    Condition,
    Operation,
)
from vaultsync.api.managedsecret import SecretSource
from vaultsync.api.managedsecret_status import FINGERPRINT, Consumer
from vaultsync.api.schema import Rule, model, prop


class Decision(StrEnum):
    APPROVE = "Approve"
    REJECT = "Reject"


class ApprovalPhase(StrEnum):
    PENDING = "Pending"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    EXPIRED = "Expired"
    SUPERSEDED = "Superseded"


def _immutable(field: str) -> Rule:
    return Rule(
        rule="self == oldSelf",
        message=f"spec.{field} is immutable: create a new ApprovalRequest instead",
    )


_KEY_LIST = {"maxItems": 256, "x-kubernetes-list-type": "set"}


@model()
class ChangeSummary(Model):
    """What the change does, by key names only: never values."""

    keys_added: tuple[str, ...] = prop(
        "Content fields the change adds.", default=(), schema=_KEY_LIST, items=SECRET_DATA_KEY
    )
    keys_removed: tuple[str, ...] = prop(
        "Content fields the change removes.", default=(), schema=_KEY_LIST, items=SECRET_DATA_KEY
    )
    keys_changed: tuple[str, ...] = prop(
        "Content fields whose value the change modifies.", default=(), schema=_KEY_LIST, items=SECRET_DATA_KEY
    )
    old_source: SecretSource | None = prop("The source before a ChangeSource operation.", default=None)
    new_source: SecretSource | None = prop("The source after a ChangeSource operation.", default=None)
    consumers: tuple[Consumer, ...] = prop(
        "Workloads that use the secret and will see the change.",
        default=(),
        schema={"maxItems": 256, "x-kubernetes-list-type": "atomic"},
    )


@model()
class ApprovalDecision(Model):
    """One person's decision. Add it with decision and comment; user and at are stamped for you."""

    decision: Decision = prop("Approve or Reject.")
    comment: str | None = prop("Why, for the audit trail.", default=None, schema={"maxLength": 4096})
    user: str | None = prop(
        "Who decided, stamped by the admission webhook from the request's authenticated identity.",
        default=None,
        schema=SHORT_TEXT,
    )
    groups: tuple[str, ...] = prop(
        "Groups of the user at the time of the decision, stamped by the admission webhook.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "atomic"},
        items=SHORT_TEXT,
    )
    at: datetime | None = prop("When the decision was made, stamped by the admission webhook.", default=None)
    seal: str | None = prop(
        "The admission webhook's HMAC over this decision; a decision without a valid seal "
        "(written while the webhook was not registered) never counts.",
        default=None,
        schema=FINGERPRINT,
    )


@model(
    rules=(
        Rule(
            rule="!has(oldSelf.decisions) || has(self.decisions)",
            message="spec.decisions is append-only: decisions cannot be removed",
            field_path=".decisions",
        ),
    )
)
class ApprovalRequestSpec(Model):
    """The change waiting for approval, and the decisions made so far."""

    managed_secret: str = prop(
        "Name of the ManagedSecret (same namespace) the change belongs to.",
        schema=DNS_SUBDOMAIN,
        rules=(_immutable("managedSecret"),),
    )
    operation: Operation = prop(
        "The gated operation: Create, Update, Delete or ChangeSource.", rules=(_immutable("operation"),)
    )
    fingerprint: str = prop(
        "Fingerprint of exactly the content that will be pushed once approved.",
        schema=FINGERPRINT,
        rules=(_immutable("fingerprint"),),
    )
    summary: ChangeSummary | None = prop(
        "What the change does, by key names only: never values.", default=None
    )
    requested_by: str | None = prop(
        "Who caused the change (the last writer of the ManagedSecret or the source), when known.",
        default=None,
        schema=SHORT_TEXT,
        rules=(_immutable("requestedBy"),),
    )
    expires_at: datetime | None = prop("When the request expires if not decided.", default=None)
    decisions: tuple[ApprovalDecision, ...] = prop(
        "Decisions, oldest first. Append one to approve or reject; existing entries cannot change.",
        default=(),
        schema={"maxItems": 32, "x-kubernetes-list-type": "atomic"},
        rules=(
            Rule(
                rule="size(self) >= size(oldSelf) && oldSelf.all(i, old, self[i] == old)",
                message="spec.decisions is append-only: existing decisions cannot be changed or removed",
            ),
        ),
    )


@model()
class ApprovalRequestStatus(Model):
    """Observed state of an ApprovalRequest, written by the operator."""

    phase: ApprovalPhase | None = prop(
        "Pending, Approved, Rejected, Expired, or Superseded (a newer change replaced it).", default=None
    )
    conditions: tuple[Condition, ...] = prop(
        "Conditions of the request.", default=(), schema=CONDITIONS_SCHEMA
    )
    approvals: int | None = prop(
        "How many distinct eligible approvers approved so far.", default=None, schema={"minimum": 0}
    )
    decided_at: datetime | None = prop("When the request reached a final phase.", default=None)
    message: str | None = prop(
        "Why the request is in its phase, for people.", default=None, schema={"maxLength": 1024}
    )
    observed_generation: int | None = prop(
        "The metadata.generation this status describes.",
        default=None,
        schema={"format": "int64", "minimum": 0},
    )
