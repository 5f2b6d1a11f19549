"""spec.generate as the API spells it, mapped onto the generators: kinds, sizes, classes, fields."""

from __future__ import annotations

import string
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from vaultsync.api.managedsecret import Generate
from vaultsync.secrets.errors import SecretModelError
from vaultsync.sync.generation import generate_content, generated_fields


def _generate(spec: dict[str, Any]) -> Generate:
    """``spec.generate`` as a sync holds it: parsed into the API model."""
    return Generate.from_dict(spec)


@pytest.mark.parametrize(
    ("secret_type", "field"),
    [
        pytest.param("basic-auth", "password", id="basic-auth"),
        pytest.param("api-key", "apiKey", id="api-key"),
        pytest.param("bearer-token", "token", id="bearer-token"),
        pytest.param("generic", "value", id="generic"),
        pytest.param("key-value", "password", id="key-value"),
    ],
)
def test_password_lands_in_the_field_of_the_type(secret_type: str, field: str) -> None:
    generate = _generate({"kind": "password", "length": 20, "characterClasses": ["digits"]})
    fields = generated_fields(secret_type, generate)
    assert list(fields) == [field]
    assert len(fields[field]) == 20
    assert set(fields[field]) <= set(string.digits)


@pytest.mark.parametrize(
    ("generate", "key_type", "size"),
    [
        pytest.param({"kind": "privateKey"}, ec.EllipticCurvePrivateKey, 256, id="default-ecdsa-p256"),
        pytest.param(
            {"kind": "privateKey", "algorithm": "ECDSA", "size": 384},
            ec.EllipticCurvePrivateKey,
            384,
            id="p384",
        ),
        pytest.param(
            {"kind": "privateKey", "algorithm": "RSA", "size": 2048}, rsa.RSAPrivateKey, 2048, id="rsa"
        ),
        pytest.param(
            {"kind": "privateKey", "algorithm": "Ed25519"}, ed25519.Ed25519PrivateKey, None, id="ed25519"
        ),
    ],
)
def test_private_key_algorithms(generate: dict[str, Any], key_type: type, size: int | None) -> None:
    pem = str(generate_content(_generate(generate)).fields["privateKey"])
    key = load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, key_type)
    if size is not None:
        assert key.key_size == size  # type: ignore[union-attr]


def test_self_signed_certificate_has_subject_sans_and_validity() -> None:
    content = generate_content(
        _generate(
            {
                "kind": "selfSignedCertificate",
                "subject": {"commonName": "app.test"},
                "sans": ["app.test", "10.0.0.1"],
                "validity": "7d",
            }
        )
    )
    certificate = x509.load_pem_x509_certificate(str(content.fields["certificate"]).encode())
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["app.test"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert 7 * 86400 <= lifetime.total_seconds() <= 7 * 86400 + 600


@pytest.mark.parametrize("size", [256, 384, 521])
def test_every_curve_the_crd_accepts_is_generated(size: int) -> None:
    """The CRD's CEL rule allows ECDSA 256, 384 and 521: each one yields a key and a certificate."""
    key = generate_content(_generate({"kind": "privateKey", "algorithm": "ECDSA", "size": size})).facts.key
    assert key is not None
    assert (key.algorithm, key.size) == ("EC", size)
    request = {"kind": "selfSignedCertificate", "algorithm": "ECDSA", "size": size, "sans": ["app.test"]}
    certificate = generate_content(_generate(request)).facts.key
    assert certificate is not None
    assert certificate.size == size


def test_unsupported_curve_is_a_model_error_without_values() -> None:
    with pytest.raises(SecretModelError, match="EC curve"):
        generate_content(_generate({"kind": "privateKey", "algorithm": "ECDSA", "size": 224}))


def test_two_generations_differ() -> None:
    assert generate_content(_generate({"kind": "secretKey", "length": 32})) != generate_content(
        _generate({"kind": "secretKey", "length": 32})
    )
