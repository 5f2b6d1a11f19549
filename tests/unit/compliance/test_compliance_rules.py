"""Compliance: rule configuration parsing, entropy estimates, evaluation over typed content."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultsync.compliance.engine import ContentMetadata, RuleResult, evaluate, evaluate_rules, failures
from vaultsync.compliance.entropy import binary_entropy_bits, text_entropy_bits
from vaultsync.compliance.rules import RULE_KEYS, RuleConfigError, parse_duration, parse_rules
from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.generators import (
    CertificateRequest,
    generate_private_key,
    generate_self_signed_certificate,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
META = ContentMetadata(now=NOW, created_at=NOW - timedelta(days=10))
PASSWORD = "Xk9#mP2$vL7qR4!w"
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def certificate(days: int = 90, algorithm: str = "EC") -> SecretContent:
    request = CertificateRequest(
        "svc.example", ("svc.example",), validity=timedelta(days=days), key_algorithm=algorithm
    )
    return generate_self_signed_certificate(request, now=NOW)


@cache
def rsa_2048() -> SecretContent:
    return generate_private_key("RSA", 2048)


def basic(password: str = PASSWORD) -> SecretContent:
    return parse_content("basic-auth", {"username": "app", "password": password})


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        pytest.param("90d", timedelta(days=90), id="days"),
        pytest.param("12h", timedelta(hours=12), id="hours"),
        pytest.param("1w2d", timedelta(days=9), id="weeks-days"),
        pytest.param("720h", timedelta(days=30), id="go-style-hours"),
        pytest.param("1d12h30m15s", timedelta(days=1, hours=12, minutes=30, seconds=15), id="all-units"),
    ],
)
def test_durations(text: str, duration: timedelta) -> None:
    assert parse_duration(text, "maxAge") == duration


@pytest.mark.parametrize(
    ("config", "rule"),
    [
        pytest.param({"minLenght": 12}, "minLenght", id="typo"),
        pytest.param({"minLength": 0}, "minLength", id="zero-length"),
        pytest.param({"minLength": "12"}, "minLength", id="string-length"),
        pytest.param({"minLength": True}, "minLength", id="bool-length"),
        pytest.param({"minEntropyBits": -1}, "minEntropyBits", id="negative-entropy"),
        pytest.param({"requiredKeys": "user"}, "requiredKeys", id="keys-not-list"),
        pytest.param({"requiredKeys": []}, "requiredKeys", id="keys-empty"),
        pytest.param({"allowedTypes": ["password"]}, "allowedTypes", id="unknown-type"),
        pytest.param({"maxAge": "90 days"}, "maxAge", id="bad-duration"),
        pytest.param({"maxAge": "0d"}, "maxAge", id="zero-duration"),
        pytest.param({"maxAge": 90}, "maxAge", id="number-duration"),
        pytest.param({"maxAge": "99999999999w"}, "maxAge", id="huge-duration"),
        pytest.param({"certificateMinRemainingValidity": ""}, "certificateMinRemainingValidity", id="empty"),
        pytest.param({"keyMinSize": {"RSA": "big"}}, "keyMinSize", id="size-map-bad"),
        pytest.param({"keyMinSize": [2048]}, "keyMinSize", id="size-list"),
        pytest.param({"forbiddenPatterns": ["(unclosed"]}, "forbiddenPatterns[0]", id="bad-regex"),
    ],
)
def test_invalid_rule_config_is_a_clear_error(config: dict[str, object], rule: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_rules(config)
    assert caught.value.rule == rule
    assert str(caught.value).startswith(f"compliance rule {rule}: ")


def test_empty_config_evaluates_nothing() -> None:
    assert evaluate_rules(basic(), None, META) == []
    assert evaluate_rules(basic(), {}, META) == []


def test_every_rule_key_is_evaluated_in_order() -> None:
    config = {
        "minLength": 8,
        "minEntropyBits": 40,
        "requiredKeys": ["password"],
        "allowedTypes": ["basic-auth"],
        "maxAge": "90d",
        "certificateMinRemainingValidity": "30d",
        "certificateMaxValidity": "398d",
        "keyAlgorithms": ["EC"],
        "keyMinSize": 256,
        "forbiddenPatterns": ["^password"],
    }
    results = evaluate_rules(basic(), config, META)
    assert [result.rule for result in results] == list(RULE_KEYS)
    assert all(result.passed for result in results)


CASES = [
    ("min-length-pass", basic(), {"minLength": 16}, True),
    ("min-length-fail", basic("short-pw"), {"minLength": 16}, False),
    (
        "min-length-key-value",
        parse_content("key-value", {"a": "long-enough-value", "b": "x"}),
        {"minLength": 4},
        False,
    ),
    (
        "min-length-secret-key-bytes",
        parse_content("secret-key", {"secretKey": base64.b64encode(b"k" * 31).decode()}),
        {"minLength": 32},
        False,
    ),
    ("min-length-na-certificate", certificate(), {"minLength": 64}, True),
    ("entropy-pass", basic(), {"minEntropyBits": 60}, True),
    ("entropy-fail-repetitive", basic("aaaaaaaaaaaaaaaaaaaaaaaa"), {"minEntropyBits": 20}, False),
    ("entropy-fail-dictionary-ish", basic("passw0rd"), {"minEntropyBits": 40}, False),
    (
        "required-keys-pass",
        parse_content("key-value", {"user": "u", "pass": "p"}),
        {"requiredKeys": ["user"]},
        True,
    ),
    (
        "required-keys-fail",
        parse_content("key-value", {"user": "u"}),
        {"requiredKeys": ["user", "pass"]},
        False,
    ),
    ("allowed-types-fail", basic(), {"allowedTypes": ["api-key", "certificate"]}, False),
    ("max-age-pass", basic(), {"maxAge": "30d"}, True),
    ("max-age-fail", basic(), {"maxAge": "7d"}, False),
    ("cert-remaining-pass", certificate(90), {"certificateMinRemainingValidity": "30d"}, True),
    ("cert-remaining-fail", certificate(20), {"certificateMinRemainingValidity": "30d"}, False),
    ("cert-remaining-na", basic(), {"certificateMinRemainingValidity": "30d"}, True),
    ("cert-max-validity-pass", certificate(90), {"certificateMaxValidity": "398d"}, True),
    ("cert-max-validity-fail", certificate(800), {"certificateMaxValidity": "398d"}, False),
    ("key-algorithm-pass", certificate(), {"keyAlgorithms": ["EC", "Ed25519"]}, True),
    ("key-algorithm-fail", rsa_2048(), {"keyAlgorithms": ["EC", "Ed25519"]}, False),
    ("key-size-pass", rsa_2048(), {"keyMinSize": 2048}, True),
    ("key-size-fail", rsa_2048(), {"keyMinSize": 3072}, False),
    ("key-size-per-algorithm-fail", certificate(), {"keyMinSize": {"RSA": 3072, "EC": 384}}, False),
    ("key-size-per-algorithm-unlisted", certificate(), {"keyMinSize": {"RSA": 3072}}, True),
    (
        "forbidden-pattern-fail",
        basic("Summer2026!Summer"),
        {"forbiddenPatterns": ["^[A-Z][a-z]+[0-9]{4}"]},
        False,
    ),
    ("forbidden-pattern-pass", basic(), {"forbiddenPatterns": ["(?i)password", "^12345"]}, True),
]


@pytest.mark.parametrize(
    ("content", "config", "passed"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_rule_outcomes(content: SecretContent, config: dict[str, object], passed: bool) -> None:
    (result,) = evaluate_rules(content, config, META)
    assert result.passed is passed, result.message
    for value in content.sensitive_values().values():
        if len(value) >= 4:
            assert value not in result.message


def test_max_age_without_creation_time_is_not_failed() -> None:
    (result,) = evaluate_rules(basic(), {"maxAge": "1d"}, ContentMetadata(now=NOW))
    assert result.passed
    assert "unknown" in result.message


def test_failures_and_messages_name_fields_and_indexes_only() -> None:
    results = evaluate(
        parse_content("key-value", {"token": "ghp_abcdefghijklmnop", "note": "fine"}),
        parse_rules({"forbiddenPatterns": ["^x", "^ghp_"], "minLength": 3}),
        META,
    )
    assert failures(results) == [
        RuleResult("forbiddenPatterns", False, "field token matches forbiddenPatterns[1]"),
    ]


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        pytest.param("", 0, 0, id="empty"),
        pytest.param("aaaaaaaa", 0, 0, id="one-symbol"),
        pytest.param("abababab", 8, 8, id="two-symbols"),
        pytest.param(PASSWORD, 60, 70, id="random-16"),
    ],
)
def test_text_entropy_estimates(text: str, low: float, high: float) -> None:
    assert low <= text_entropy_bits(text) <= high


def test_binary_entropy_trusts_random_bytes_but_not_repetition() -> None:
    assert binary_entropy_bits(bytes(range(16))) == 128
    assert binary_entropy_bits(b"\x00" * 32) == 0


@PROPERTY
@given(st.text(min_size=1, max_size=40))
def test_entropy_is_bounded_by_the_pool_estimate(text: str) -> None:
    bits = text_entropy_bits(text)
    assert 0 <= bits <= len(text) * 7.6 + 1e-9


@PROPERTY
@given(
    # An alphabet no message is made of, so a value found in a message can only have leaked.
    st.text(st.sampled_from("αβγδεζηθλμξπσφψω§¤¶"), min_size=4, max_size=30),
    st.integers(1, 40),
    st.floats(1, 200),
)
def test_messages_never_contain_the_value(password: str, min_length: int, min_entropy: float) -> None:
    content = basic(password)
    results = evaluate_rules(
        content, {"minLength": min_length, "minEntropyBits": min_entropy, "forbiddenPatterns": ["."]}, META
    )
    assert len(results) == 3
    assert all(password not in result.message for result in results)
    assert results[0].passed is (len(password) >= min_length)
