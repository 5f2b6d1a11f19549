"""Test material for the secret model: keys, certificates, keystores and JWTs built once per session,
and hypothesis strategies producing valid documents of every secret type."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from vaultsync.secrets.content import SECRET_TYPES
from vaultsync.secrets.fields import KEY_VALUE_KEY

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PASSPHRASE = "correct horse battery"


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1() if curve == "P-256" else ec.SECP384R1())


@cache
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def pem_of(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    passphrase: str | None = None,
    fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def der_base64_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(der).decode()


@cache
def certificate(
    common_name: str = "leaf.example",
    days: int = 90,
    sans: tuple[str, ...] = ("leaf.example", "www.leaf.example"),
    issuer_name: str | None = None,
) -> x509.Certificate:
    """A certificate for ``ec_key()``; signed by ``ca_key`` when ``issuer_name`` is set."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]) if issuer_name else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(ec_key().public_key())
        .serial_number(1000 + days)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in sans]), critical=False
        )
    signer = ca_key() if issuer_name else ec_key()
    return builder.sign(signer, hashes.SHA256())


@cache
def ca_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@cache
def ca_certificate() -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key().public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key(), hashes.SHA256())
    )


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@cache
def keystore_base64(password: str = "changeit") -> str:  # noqa: S107 - test keystore
    data = pkcs12.serialize_key_and_certificates(
        b"alias",
        ec_key(),
        certificate(),
        [ca_certificate()],
        serialization.BestAvailableEncryption(password.encode()),
    )
    return base64.b64encode(data).decode()


def jwt_token(claims: dict[str, object], header: dict[str, object] | None = None) -> str:
    def segment(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{segment(header or {'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}.c2lnbmF0dXJl"


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Settings of ordinary properties (applied per test so other suites keep their own profiles)."""
FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
"""Settings of the one fuzz test per module that hammers a parser with malformed input."""


# --- hypothesis strategies --------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HEADER = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
SCOPE = st.from_regex(r"[a-z:.]{1,12}", fullmatch=True)
EXPIRES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())


def _with_optional(
    base: st.SearchStrategy[dict[str, object]], **optional: st.SearchStrategy[object]
) -> st.SearchStrategy[dict[str, object]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, object]:
        document = dict(draw(base))
        for name, strategy in optional.items():
            if draw(st.booleans()):
                document[name] = draw(strategy)
        return document

    return build()


def _private_key_documents() -> list[dict[str, object]]:
    return [
        {"privateKey": pem_of(ec_key())},
        {"privateKey": pem_of(ed25519_key())},
        {"privateKey": pem_of(rsa_key(), fmt=serialization.PrivateFormat.TraditionalOpenSSL)},
        {"privateKey": der_base64_of(ec_key())},
        {"privateKey": pem_of(ec_key(), PASSPHRASE), "passphrase": PASSPHRASE},
    ]


def _certificate_documents() -> list[dict[str, object]]:
    return [
        {"certificate": cert_pem(certificate())},
        {"certificate": cert_pem(certificate()), "privateKey": pem_of(ec_key())},
        {
            "certificate": cert_pem(certificate("chained.example", 30, (), "Test CA"))
            + cert_pem(ca_certificate()),
            "privateKey": pem_of(ec_key()),
            "caCertificate": cert_pem(ca_certificate()),
        },
    ]


@cache
def documents(secret_type: str) -> st.SearchStrategy[dict[str, object]]:
    """Valid documents of ``secret_type`` (optional fields and expiresAt drawn at random).

    Built once per type: ``typed_documents`` draws the type first, and rebuilding (and
    re-validating) every strategy, PEM and certificate on each draw was most of the unit suite's
    hypothesis time. Strategies are immutable, and every consumer copies the drawn document."""
    base: dict[str, st.SearchStrategy[dict[str, object]]] = {
        "basic-auth": st.fixed_dictionaries({"username": TEXT, "password": TEXT}),
        "api-key": _with_optional(st.fixed_dictionaries({"apiKey": TEXT}), headerName=HEADER),
        "bearer-token": _with_optional(st.fixed_dictionaries({"token": TEXT}), headerName=HEADER),
        "jwt": st.fixed_dictionaries(
            {
                "token": st.fixed_dictionaries({"exp": st.integers(0, 4_000_000_000), "iss": TEXT}).map(
                    jwt_token
                )
            }
        ),
        "client-credentials": _with_optional(
            st.fixed_dictionaries({"clientId": TEXT, "clientSecret": TEXT}),
            scopes=st.lists(SCOPE, max_size=4),
            tokenUrl=st.sampled_from(["https://login.example/oauth2/token", "http://127.0.0.1:8080/token"]),
        ),
        "private-key": st.sampled_from(_private_key_documents()),
        "secret-key": st.binary(min_size=1, max_size=64).map(
            lambda data: {"secretKey": base64.b64encode(data).decode()}
        ),
        "certificate": st.sampled_from(_certificate_documents()),
        "keystore": st.just({"keystore": keystore_base64(), "password": "changeit"}),
        "key-value": st.dictionaries(
            st.from_regex(KEY_VALUE_KEY, fullmatch=True).filter(lambda key: key != "expiresAt"),
            ANY_TEXT,
            min_size=1,
            max_size=5,
        ),
        "generic": st.one_of(
            st.fixed_dictionaries({"value": ANY_TEXT}),
            st.binary(max_size=40).map(
                lambda data: {"value": base64.b64encode(data).decode(), "valueEncoding": "base64"}
            ),
        ),
    }
    return _with_optional(base[secret_type], expiresAt=EXPIRES)


def typed_documents() -> st.SearchStrategy[tuple[str, dict[str, object]]]:
    return st.sampled_from(SECRET_TYPES).flatmap(
        lambda secret_type: documents(secret_type).map(lambda document: (secret_type, document))
    )
