"""Evaluation of compliance rules over typed content and its metadata.

The engine only evaluates: it returns one ``RuleResult`` per configured rule, and the caller
decides what a failure means (``Audit`` records it, ``Enforce`` refuses the push). Messages name
fields, sizes, dates and rule indexes, never a value or anything derived from one that could
narrow it down (no lengths of individual values below the minimum, no matched text).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vaultsync.compliance.entropy import binary_entropy_bits, text_entropy_bits
from vaultsync.compliance.rules import ComplianceRules, parse_rules
from vaultsync.secrets.content import SecretContent, SecretType

# Which fields of each type are measured by the value rules (minLength, minEntropyBits,
# forbiddenPatterns). Keys and certificates are measured by the key and certificate rules instead.
MEASURED_TEXT_FIELDS: Mapping[SecretType, tuple[str, ...]] = {
    SecretType.BASIC_AUTH: ("password",),
    SecretType.API_KEY: ("apiKey",),
    SecretType.BEARER_TOKEN: ("token",),
    SecretType.JWT: ("token",),
    SecretType.CLIENT_CREDENTIALS: ("clientSecret",),
    SecretType.PRIVATE_KEY: ("passphrase",),
    SecretType.SECRET_KEY: (),
    SecretType.CERTIFICATE: (),
    SecretType.KEYSTORE: ("password",),
    SecretType.GENERIC: ("value",),
}


@dataclass(frozen=True)
class ContentMetadata:
    """What the engine knows about the content besides the content itself."""

    now: datetime
    """The evaluation time (injected: the pure layer does not read the clock)."""
    created_at: datetime | None = None
    """When the current content was first seen (its version's createdAt), for ``maxAge``."""


@dataclass(frozen=True)
class RuleResult:
    rule: str
    """The rule id: the camelCase key of ``spec.compliance.rules``."""
    passed: bool
    message: str
    """Why it passed or failed; never contains a value."""


@dataclass(frozen=True)
class _Measured:
    """A value under the value rules: text, or bytes for binary secrets."""

    field: str
    text: str | None
    data: bytes | None

    @property
    def length(self) -> int:
        return len(self.text) if self.text is not None else len(self.data or b"")

    @property
    def entropy_bits(self) -> float:
        return (
            text_entropy_bits(self.text) if self.text is not None else binary_entropy_bits(self.data or b"")
        )


def _measured_values(content: SecretContent) -> list[_Measured]:
    if content.type is SecretType.SECRET_KEY:
        return [_Measured("secretKey", None, base64.b64decode(str(content.fields["secretKey"])))]
    if content.type is SecretType.GENERIC and content.fields.get("valueEncoding") == "base64":
        return [_Measured("value", None, base64.b64decode(str(content.fields["value"])))]
    names = (
        tuple(content.fields) if content.type is SecretType.KEY_VALUE else MEASURED_TEXT_FIELDS[content.type]
    )
    return [
        _Measured(name, value, None) for name in names if isinstance(value := content.fields.get(name), str)
    ]


def evaluate(content: SecretContent, rules: ComplianceRules, metadata: ContentMetadata) -> list[RuleResult]:
    """One result per configured rule, in the order of ``RULE_KEYS``."""
    results: list[RuleResult] = []
    for rule, check in _CHECKS:
        result = check(content, rules, metadata)
        if result is not None:
            passed, message = result
            results.append(RuleResult(rule, passed, message))
    return results


def evaluate_rules(
    content: SecretContent, config: Mapping[str, object] | None, metadata: ContentMetadata
) -> list[RuleResult]:
    """Parse ``spec.compliance.rules`` (``RuleConfigError`` when invalid) and evaluate it."""
    return evaluate(content, parse_rules(config), metadata)


def failures(results: Sequence[RuleResult]) -> list[RuleResult]:
    return [result for result in results if not result.passed]


Outcome = tuple[bool, str] | None


def _fields_failing(content: SecretContent, is_failing: Callable[[_Measured], bool], problem: str) -> Outcome:
    values = _measured_values(content)
    if not values:
        return True, f"not applicable to {content.type.value} content"
    failing = [value.field for value in values if is_failing(value)]
    if failing:
        return False, f"fields {failing} {problem}"
    return True, f"fields {[value.field for value in values]} pass"


def _min_length(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    minimum = rules.min_length
    if minimum is None:
        return None
    return _fields_failing(content, lambda value: value.length < minimum, f"are shorter than {minimum}")


def _min_entropy(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    minimum = rules.min_entropy_bits
    if minimum is None:
        return None
    problem = f"have less than {minimum:g} bits of entropy"
    return _fields_failing(content, lambda value: value.entropy_bits < minimum, problem)


def _forbidden_patterns(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    if not rules.forbidden_patterns:
        return None
    for value in _measured_values(content):
        if value.text is None:
            continue
        for index, pattern in enumerate(rules.forbidden_patterns):
            if pattern.search(value.text):
                return False, f"field {value.field} matches forbiddenPatterns[{index}]"
    return True, "no value matches a forbidden pattern"


def _required_keys(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    if not rules.required_keys:
        return None
    missing = [key for key in rules.required_keys if key not in content.fields]
    return (False, f"missing keys {missing}") if missing else (True, "all required keys are present")


def _allowed_types(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    if not rules.allowed_types:
        return None
    if content.type.value in rules.allowed_types:
        return True, f"type {content.type.value} is allowed"
    return False, f"type {content.type.value} is not one of {list(rules.allowed_types)}"


def _max_age(content: SecretContent, rules: ComplianceRules, metadata: ContentMetadata) -> Outcome:
    if rules.max_age is None:
        return None
    if metadata.created_at is None:
        return True, "age unknown: no creation time recorded yet"
    age = metadata.now - metadata.created_at
    if age > rules.max_age:
        return False, f"content is {_days(age)} old, more than the maximum {_days(rules.max_age)}"
    return True, f"content is {_days(age)} old"


def _certificate_min_remaining(
    content: SecretContent, rules: ComplianceRules, metadata: ContentMetadata
) -> Outcome:
    minimum = rules.certificate_min_remaining_validity
    certificate = content.facts.certificate
    if minimum is None:
        return None
    if certificate is None:
        return True, f"not applicable to {content.type.value} content without a certificate"
    remaining = certificate.not_after - metadata.now
    if remaining < minimum:
        return False, f"certificate expires at {certificate.not_after.isoformat()}, within {_days(minimum)}"
    return True, f"certificate valid for {_days(remaining)} more"


def _certificate_max_validity(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    maximum = rules.certificate_max_validity
    certificate = content.facts.certificate
    if maximum is None:
        return None
    if certificate is None:
        return True, f"not applicable to {content.type.value} content without a certificate"
    validity = certificate.not_after - certificate.not_before
    if validity > maximum:
        return False, f"certificate is valid for {_days(validity)}, more than the maximum {_days(maximum)}"
    return True, f"certificate is valid for {_days(validity)}"


def _key_algorithms(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    key = content.facts.key
    if not rules.key_algorithms:
        return None
    if key is None:
        return True, f"not applicable to {content.type.value} content without a key"
    if key.algorithm in rules.key_algorithms:
        return True, f"key algorithm {key.algorithm} is allowed"
    return False, f"key algorithm {key.algorithm} is not one of {list(rules.key_algorithms)}"


def _key_min_size(content: SecretContent, rules: ComplianceRules, _: ContentMetadata) -> Outcome:
    key = content.facts.key
    if rules.key_min_size is None:
        return None
    if key is None:
        return True, f"not applicable to {content.type.value} content without a key"
    minimum = (
        rules.key_min_size if isinstance(rules.key_min_size, int) else rules.key_min_size.get(key.algorithm)
    )
    if minimum is None:
        return True, f"no minimum size configured for {key.algorithm}"
    if key.size < minimum:
        return False, f"{key.algorithm} key of {key.size} bits is smaller than {minimum}"
    return True, f"{key.algorithm} key of {key.size} bits"


def _days(duration: timedelta) -> str:
    if duration >= timedelta(days=1):
        return f"{duration.total_seconds() / 86400:.1f} days"
    return f"{duration.total_seconds() / 3600:.1f} hours"


_CHECKS: tuple[tuple[str, Callable[[SecretContent, ComplianceRules, ContentMetadata], Outcome]], ...] = (
    ("minLength", _min_length),
    ("minEntropyBits", _min_entropy),
    ("requiredKeys", _required_keys),
    ("allowedTypes", _allowed_types),
    ("maxAge", _max_age),
    ("certificateMinRemainingValidity", _certificate_min_remaining),
    ("certificateMaxValidity", _certificate_max_validity),
    ("keyAlgorithms", _key_algorithms),
    ("keyMinSize", _key_min_size),
    ("forbiddenPatterns", _forbidden_patterns),
)
