"""Generators of passwords, secret keys, private keys and self-signed certificates."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secret_material import PROPERTY

from vaultsync.secrets.content import SecretType
from vaultsync.secrets.generators import (
    CHARACTER_CLASSES,
    CertificateRequest,
    GeneratorError,
    generate_password,
    generate_private_key,
    generate_secret_key,
    generate_self_signed_certificate,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@PROPERTY
@given(
    st.lists(st.sampled_from(sorted(CHARACTER_CLASSES)), min_size=1, max_size=4, unique=True),
    st.integers(4, 64),
)
def test_password_covers_every_requested_class(classes: list[str], length: int) -> None:
    password = generate_password(length, classes).fields["value"]
    assert isinstance(password, str)
    assert len(password) == length
    allowed = "".join(CHARACTER_CLASSES[name] for name in classes)
    assert set(password) <= set(allowed)
    for name in classes:
        assert set(password) & set(CHARACTER_CLASSES[name]), name


def test_passwords_differ() -> None:
    assert len({generate_password(20).fields["value"] for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("length", "classes"),
    [
        pytest.param(2, ("lower", "upper", "digits"), id="shorter-than-classes"),
        pytest.param(10, (), id="no-classes"),
        pytest.param(10, ("emoji",), id="unknown-class"),
        pytest.param(100_000, ("lower",), id="too-long"),
    ],
)
def test_bad_password_requests(length: int, classes: tuple[str, ...]) -> None:
    with pytest.raises(GeneratorError):
        generate_password(length, classes)


@pytest.mark.parametrize("size", [1, 16, 32, 64])
def test_secret_key_has_requested_length(size: int) -> None:
    content = generate_secret_key(size)
    assert content.type is SecretType.SECRET_KEY
    assert content.facts.secret_key_length == size


@pytest.mark.parametrize("size", [0, -1, 4096])
def test_bad_secret_key_sizes(size: int) -> None:
    with pytest.raises(GeneratorError):
        generate_secret_key(size)


@pytest.mark.parametrize(
    ("algorithm", "size", "curve", "expected"),
    [
        pytest.param("RSA", 2048, "P-256", ("RSA", 2048), id="rsa-2048"),
        pytest.param("EC", None, "P-256", ("EC", 256), id="ec-p256"),
        pytest.param("EC", None, "P-384", ("EC", 384), id="ec-p384"),
        pytest.param("EC", None, "P-521", ("EC", 521), id="ec-p521"),
        pytest.param("Ed25519", None, "P-256", ("Ed25519", 256), id="ed25519"),
    ],
)
def test_private_keys(algorithm: str, size: int | None, curve: str, expected: tuple[str, int]) -> None:
    key = generate_private_key(algorithm, size, curve).facts.key
    assert key is not None
    assert (key.algorithm, key.size) == expected


@pytest.mark.parametrize(
    ("algorithm", "size", "curve"),
    [
        pytest.param("RSA", 1024, "P-256", id="rsa-too-small"),
        pytest.param("RSA", 8192, "P-256", id="rsa-too-big"),
        pytest.param("RSA", 2049, "P-256", id="rsa-odd"),
        pytest.param("EC", None, "P-224", id="unsupported-curve"),
        pytest.param("DSA", None, "P-256", id="unsupported-algorithm"),
    ],
)
def test_bad_private_key_requests(algorithm: str, size: int | None, curve: str) -> None:
    with pytest.raises(GeneratorError):
        generate_private_key(algorithm, size, curve)


@pytest.mark.parametrize("algorithm", ["EC", "Ed25519"])
def test_self_signed_certificate(algorithm: str) -> None:
    request = CertificateRequest(
        "api.example",
        ("api.example", "api.internal"),
        ("10.0.0.1",),
        timedelta(days=30),
        key_algorithm=algorithm,
    )
    content = generate_self_signed_certificate(request, now=NOW)
    facts = content.facts.certificate
    assert facts is not None
    assert facts.subject == facts.issuer == "CN=api.example"
    assert facts.sans == ("DNS:api.example", "DNS:api.internal", "IP:10.0.0.1")
    assert facts.not_after == NOW + timedelta(days=30)
    assert content.expires_at == NOW + timedelta(days=30)
    assert "privateKey" in content.fields


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(CertificateRequest(""), id="no-common-name"),
        pytest.param(CertificateRequest("x", validity=timedelta(0)), id="no-validity"),
        pytest.param(CertificateRequest("x", ip_addresses=("not-an-ip",)), id="bad-ip"),
    ],
)
def test_bad_certificate_requests(request_: CertificateRequest) -> None:
    with pytest.raises(GeneratorError):
        generate_self_signed_certificate(request_, now=NOW)


def test_password_alphabet_is_printable_ascii() -> None:
    assert set("".join(CHARACTER_CLASSES.values())) <= set(string.printable) - set(string.whitespace)
