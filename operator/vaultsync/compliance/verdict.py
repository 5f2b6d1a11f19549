"""What the compliance rules of a secret's profiles mean for one sync: record, or refuse to push.

Every profile the secret touches (source and sync targets) may carry ``spec.compliance``; each
is evaluated, and one ``Enforce`` policy with a failing rule blocks the push (the strictest
wins, as with approvals). ``Audit`` failures are recorded in status and events only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vaultsync.api.policy import CompliancePolicy, Enforcement
from vaultsync.compliance.engine import ContentMetadata, RuleResult, evaluate_rules, failures
from vaultsync.compliance.rules import RuleConfigError
from vaultsync.secrets.content import SecretContent

TRUE, FALSE = "True", "False"


@dataclass(frozen=True)
class PolicySource:
    """One profile's ``spec.compliance``, named for messages."""

    profile: str
    policy: CompliancePolicy | None

    @property
    def rules(self) -> dict[str, Any]:
        """The rules as the rule parser reads them: camelCase, the unset ones left out."""
        return self.policy.rules.to_dict() if self.policy is not None else {}


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    """True when an Enforce policy fails (or is invalid): nothing may be pushed."""
    condition: tuple[str, str, str]
    """(status, reason, message) of the ``Compliant`` condition."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """``status.compliance.results`` entries: rule, passed, message."""


def judge(
    policies: Sequence[PolicySource], content: SecretContent, created_at: datetime | None, now: datetime
) -> Verdict:
    unique = {p.profile: p for p in reversed(policies)}  # a profile used twice is judged once
    configured = [p for p in policies if unique.get(p.profile) is p and p.rules]
    if not configured:
        return Verdict(False, (TRUE, "NoRules", "no compliance rules apply"))
    prefixed = len(configured) > 1
    results: list[dict[str, Any]] = []
    enforced_failures: list[str] = []
    audit_failures: list[str] = []
    for source in configured:
        enforce = source.policy is not None and source.policy.enforcement is Enforcement.ENFORCE
        try:
            evaluated = evaluate_rules(content, source.rules, ContentMetadata(now, created_at))
        except RuleConfigError as e:
            evaluated = [RuleResult("rules", False, f"invalid rules in VaultProfile {source.profile}: {e}")]
        for result in evaluated:
            rule = f"{source.profile}: {result.rule}" if prefixed else result.rule
            results.append({"rule": rule, "passed": result.passed, "message": result.message})
        named = [f"{r.rule} ({r.message})" for r in failures(evaluated)]
        (enforced_failures if enforce else audit_failures).extend(named)
    if enforced_failures:
        message = "enforced rules fail: " + "; ".join(enforced_failures[:5])
        return Verdict(True, (FALSE, "NonCompliant", message), results)
    if audit_failures:
        message = "audited rules fail (not enforced): " + "; ".join(audit_failures[:5])
        return Verdict(False, (FALSE, "AuditFindings", message), results)
    return Verdict(False, (TRUE, "Compliant", f"all {len(results)} rules pass"), results)
