"""Compliance rule configuration: ``VaultProfile.spec.compliance.rules`` as a typed object.

Rules arrive as a plain mapping with camelCase keys. Parsing it up front means a typo or a bad
value is reported once, as a ``RuleConfigError`` naming the rule, instead of surfacing as a
confusing failure on every secret the profile holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from vaultsync.secrets.content import SECRET_TYPES

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
MAX_PATTERN_LENGTH = 1000

RULE_KEYS = (
    "minLength",
    "minEntropyBits",
    "requiredKeys",
    "allowedTypes",
    "maxAge",
    "certificateMinRemainingValidity",
    "certificateMaxValidity",
    "keyAlgorithms",
    "keyMinSize",
    "forbiddenPatterns",
)


class ComplianceError(Exception):
    """Base of the compliance layer's errors."""


class RuleConfigError(ComplianceError):
    """A rule of ``spec.compliance.rules`` is unknown or has an invalid value."""

    def __init__(self, rule: str, problem: str) -> None:
        self.rule = rule
        self.problem = problem
        super().__init__(f"compliance rule {rule}: {problem}")


@dataclass(frozen=True)
class ComplianceRules:
    """Parsed rules; ``None`` (or empty) means the rule is not configured."""

    min_length: int | None = None
    min_entropy_bits: float | None = None
    required_keys: tuple[str, ...] = ()
    allowed_types: tuple[str, ...] = ()
    max_age: timedelta | None = None
    certificate_min_remaining_validity: timedelta | None = None
    certificate_max_validity: timedelta | None = None
    key_algorithms: tuple[str, ...] = ()
    key_min_size: Mapping[str, int] | int | None = None
    """One minimum for every algorithm, or a minimum per algorithm (``{"RSA": 3072, "EC": 256}``)."""
    forbidden_patterns: tuple[re.Pattern[str], ...] = ()


def parse_duration(text: object, rule: str) -> timedelta:
    """``90d``, ``12h``, ``1w2d``, ``720h``, ``30m``, ``45s`` (units w, d, h, m, s)."""
    if not isinstance(text, str):
        raise RuleConfigError(rule, "must be a duration string such as 90d or 12h")
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise RuleConfigError(rule, "must be a duration such as 90d, 12h, 1w2d (units w, d, h, m, s)")
    amounts = {unit: int(value) for unit, value in zip(_DURATION_UNITS, match.groups(), strict=True) if value}
    try:
        duration = timedelta(**amounts)
    except OverflowError:
        raise RuleConfigError(rule, "is too large") from None
    if duration <= timedelta(0):
        raise RuleConfigError(rule, "must be longer than zero")
    return duration


def parse_rules(config: Mapping[str, object] | None) -> ComplianceRules:
    """Parse ``spec.compliance.rules``; raises ``RuleConfigError`` for unknown rules or bad values."""
    if config is None:
        return ComplianceRules()
    if not isinstance(config, Mapping):
        raise RuleConfigError("rules", "must be an object")
    for key in config:
        if key not in RULE_KEYS:
            raise RuleConfigError(str(key)[:64], f"is not a compliance rule (known: {', '.join(RULE_KEYS)})")
    return ComplianceRules(
        min_length=_optional_int(config, "minLength"),
        min_entropy_bits=_optional_number(config, "minEntropyBits"),
        required_keys=_string_list(config, "requiredKeys"),
        allowed_types=_allowed_types(config),
        max_age=_optional_duration(config, "maxAge"),
        certificate_min_remaining_validity=_optional_duration(config, "certificateMinRemainingValidity"),
        certificate_max_validity=_optional_duration(config, "certificateMaxValidity"),
        key_algorithms=_string_list(config, "keyAlgorithms"),
        key_min_size=_key_min_size(config),
        forbidden_patterns=_patterns(config),
    )


def _optional_int(config: Mapping[str, object], rule: str) -> int | None:
    value = config.get(rule)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RuleConfigError(rule, "must be a positive integer")
    return value


def _optional_number(config: Mapping[str, object], rule: str) -> float | None:
    value = config.get(rule)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100_000:
        raise RuleConfigError(rule, "must be a positive number of bits")
    return float(value)


def _optional_duration(config: Mapping[str, object], rule: str) -> timedelta | None:
    return None if config.get(rule) is None else parse_duration(config[rule], rule)


def _string_list(config: Mapping[str, object], rule: str) -> tuple[str, ...]:
    value = config.get(rule)
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not value:
        raise RuleConfigError(rule, "must be a non-empty list of strings")
    if not all(isinstance(item, str) and item for item in value):
        raise RuleConfigError(rule, "must contain only non-empty strings")
    return tuple(value)


def _allowed_types(config: Mapping[str, object]) -> tuple[str, ...]:
    types = _string_list(config, "allowedTypes")
    unknown = [name for name in types if name not in SECRET_TYPES]
    if unknown:
        known = ", ".join(SECRET_TYPES)
        raise RuleConfigError("allowedTypes", f"has unknown types {unknown} (known: {known})")
    return types


def _key_min_size(config: Mapping[str, object]) -> Mapping[str, int] | int | None:
    value = config.get("keyMinSize")
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return _optional_int(config, "keyMinSize")
    if isinstance(value, Mapping) and value:
        sizes: dict[str, int] = {}
        for algorithm, size in value.items():
            valid_size = isinstance(size, int) and not isinstance(size, bool) and size >= 1
            if not isinstance(algorithm, str) or not valid_size:
                raise RuleConfigError("keyMinSize", "must map algorithm names to positive integers")
            sizes[algorithm] = size
        return sizes
    raise RuleConfigError("keyMinSize", "must be a positive integer or a map of algorithm to bits")


def _patterns(config: Mapping[str, object]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, pattern in enumerate(_string_list(config, "forbiddenPatterns")):
        rule = f"forbiddenPatterns[{index}]"
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise RuleConfigError(rule, f"is longer than {MAX_PATTERN_LENGTH} characters")
        try:
            compiled.append(re.compile(pattern))
        except (re.error, RecursionError, OverflowError):
            raise RuleConfigError(rule, "is not a valid regular expression") from None
    return tuple(compiled)
