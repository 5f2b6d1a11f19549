"""Who must approve what: the approval policies of a ManagedSecret's profiles, combined.

A ManagedSecret can touch several vaults, and each VaultProfile may carry its own
``spec.approval``. The source profile's policy governs, and every sync-target profile's
policy applies as well: an operation is gated when any policy gates it, and it is approved
only when every policy that gates it is satisfied by its own approvers. That is the strictest
combination (the union of gates, the intersection of consents), and it never asks for an
impossible approver. Pure: it reads the typed ``spec.approval`` models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from vaultsync.api.common import parse_duration
from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec

DEFAULT_EXPIRES_AFTER = timedelta(hours=72)


@dataclass(frozen=True)
class Approver:
    """One person who decided: the name and groups the apiserver authenticated."""

    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyClause:
    """The approval policy of one VaultProfile."""

    profile: str
    """``namespace/name`` of the profile, to name it in messages."""
    operations: frozenset[str]
    required_approvals: int = 1
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    allow_self_approval: bool = False
    expires_after: timedelta = DEFAULT_EXPIRES_AFTER

    @classmethod
    def from_spec(cls, profile: str, approval: ApprovalSpec) -> PolicyClause:
        expires = approval.expires_after
        return cls(
            profile=profile,
            operations=frozenset(str(op) for op in approval.operations),
            required_approvals=max(1, approval.required_approvals),
            users=frozenset(approval.approvers.users),
            groups=frozenset(approval.approvers.groups),
            allow_self_approval=approval.allow_self_approval,
            expires_after=parse_duration(expires) if expires else DEFAULT_EXPIRES_AFTER,
        )

    def is_approver(self, who: Approver) -> bool:
        return who.user in self.users or bool(self.groups.intersection(who.groups))


@dataclass(frozen=True)
class ApprovalPolicy:
    """The combined policy of every profile a ManagedSecret uses."""

    clauses: tuple[PolicyClause, ...] = ()

    @classmethod
    def of_profiles(cls, approvals: Iterable[tuple[str, ApprovalSpec | None]]) -> ApprovalPolicy:
        """From ``(profile name, spec.approval or None)`` pairs, source profile first."""
        return cls(tuple(PolicyClause.from_spec(name, a) for name, a in approvals if a))

    def governing(self, operation: str) -> tuple[PolicyClause, ...]:
        return tuple(c for c in self.clauses if operation in c.operations)

    def gates(self, operation: str) -> bool:
        return bool(self.governing(operation))

    @property
    def gated_operations(self) -> frozenset[str]:
        return frozenset(op for c in self.clauses for op in c.operations)

    def is_approver(self, operation: str, who: Approver) -> bool:
        return any(c.is_approver(who) for c in self.governing(operation))

    def allows_self_approval(self, operation: str) -> bool:
        """Only when every governing policy allows it."""
        clauses = self.governing(operation)
        return bool(clauses) and all(c.allow_self_approval for c in clauses)

    def expires_after(self, operation: str) -> timedelta:
        """The shortest ``expiresAfter`` of the governing policies."""
        return min((c.expires_after for c in self.governing(operation)), default=DEFAULT_EXPIRES_AFTER)

    def required_approvals(self, operation: str) -> int:
        return max((c.required_approvals for c in self.governing(operation)), default=0)

    def missing_approvals(
        self, operation: str, approvers: Sequence[Approver], requested_by: str | None
    ) -> dict[str, int]:
        """Per governing profile, how many more distinct approvals it needs (only those short)."""
        missing: dict[str, int] = {}
        for clause in self.governing(operation):
            counted = {
                a.user
                for a in approvers
                if clause.is_approver(a) and (clause.allow_self_approval or a.user != requested_by)
            }
            if len(counted) < clause.required_approvals:
                missing[clause.profile] = clause.required_approvals - len(counted)
        return missing

    def eligible_count(self, operation: str, approvers: Sequence[Approver], requested_by: str | None) -> int:
        """Distinct approvers that count for at least one governing policy."""
        return len(
            {
                a.user
                for a in approvers
                for c in self.governing(operation)
                if c.is_approver(a) and (c.allow_self_approval or a.user != requested_by)
            }
        )
