"""What the compliance rules of a secret's profiles mean for one sync: record, or refuse to push.

Every profile the secret touches (source and sync targets) may carry ``spec.compliance``; each
is evaluated, and one ``Enforce`` policy with a failing rule blocks the push (the strictest
wins, as with approvals). ``Audit`` failures are recorded in status and events only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vaultsync.compliance.engine import ContentMetadata, RuleResult, evaluate_rules, failures
from vaultsync.compliance.rules import RuleConfigError
from vaultsync.secrets.content import SecretContent

TRUE, FALSE = "True", "False"


@dataclass(frozen=True)
class PolicySource:
    """One profile's ``spec.compliance``, named for messages."""

    profile: str
    policy: Mapping[str, Any] | None


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
    configured = [p for p in policies if unique.get(p.profile) is p and p.policy and p.policy.get("rules")]
    if not configured:
        return Verdict(False, (TRUE, "NoRules", "no compliance rules apply"))
    prefixed = len(configured) > 1
    results: list[dict[str, Any]] = []
    enforced_failures: list[str] = []
    audit_failures: list[str] = []
    for source in configured:
        policy = source.policy or {}
        enforce = policy.get("enforcement", "Audit") == "Enforce"
        try:
            evaluated = evaluate_rules(content, policy.get("rules"), ContentMetadata(now, created_at))
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
