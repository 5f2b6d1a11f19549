"""The verdict over every profile a secret touches: each profile's rules count once."""

from __future__ import annotations

from datetime import UTC, datetime

from vaultsync.api.policy import CompliancePolicy
from vaultsync.compliance.verdict import PolicySource, judge
from vaultsync.secrets.content import parse_content

NOW = datetime(2026, 1, 1, tzinfo=UTC)
AUDIT = CompliancePolicy.from_dict({"enforcement": "Audit", "rules": {"minLength": 40}})


def test_a_profile_used_as_source_and_target_is_judged_once() -> None:
    content = parse_content("generic", {"value": "short"})
    shared = PolicySource("ns/bao", AUDIT)
    verdict = judge([shared, PolicySource("ns/bao", AUDIT)], content, NOW, NOW)
    assert len(verdict.results) == 1, verdict.results
    assert verdict.condition[2].count("minLength") == 1, verdict.condition
    both = judge([shared, PolicySource("ns/aws", AUDIT)], content, NOW, NOW)
    assert len(both.results) == 2
