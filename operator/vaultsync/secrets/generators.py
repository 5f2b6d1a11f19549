"""Generators of new secret content for ``ManagedSecret.spec.generate``.

Every generator returns validated ``SecretContent`` (it goes through ``parse_content`` like any
content read from a vault) and draws randomness only from ``secrets`` / the OS via ``cryptography``.
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from vaultsync.secrets.content import SecretContent, SecretType, parse_content
from vaultsync.secrets.encoding import encode_base64
from vaultsync.secrets.errors import SecretModelError

CHARACTER_CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": "!#$%&()*+,-./:;<=>?@[]^_{|}~",
}
RSA_SIZES = range(2048, 4097)
EC_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
KEY_ALGORITHMS = ("RSA", "EC", "Ed25519")
MAX_PASSWORD_LENGTH = 1024
MAX_SECRET_KEY_BYTES = 1024


class GeneratorError(SecretModelError):
    """A generator was asked for something it cannot or must not produce."""


def generate_password(
    length: int = 32, classes: Sequence[str] = ("lower", "upper", "digits", "symbols")
) -> SecretContent:
    """generic content holding a password with at least one character of every requested class."""
    unknown = sorted(set(classes) - set(CHARACTER_CLASSES))
    if unknown or not classes:
        raise GeneratorError(f"character classes must be a non-empty subset of {sorted(CHARACTER_CLASSES)}")
    if not len(set(classes)) <= length <= MAX_PASSWORD_LENGTH:
        raise GeneratorError(f"password length must be between {len(set(classes))} and {MAX_PASSWORD_LENGTH}")
    pools = [CHARACTER_CLASSES[name] for name in dict.fromkeys(classes)]
    alphabet = "".join(pools)
    characters = [secrets.choice(pool) for pool in pools]
    characters += [secrets.choice(alphabet) for _ in range(length - len(characters))]
    _shuffle(characters)
    return parse_content(SecretType.GENERIC, {"value": "".join(characters)})


def _shuffle(items: list[str]) -> None:
    """Fisher-Yates with ``secrets.randbelow`` (``random.shuffle`` is not a CSPRNG)."""
    for index in range(len(items) - 1, 0, -1):
        other = secrets.randbelow(index + 1)
        items[index], items[other] = items[other], items[index]


def generate_secret_key(size_bytes: int = 32) -> SecretContent:
    if not 1 <= size_bytes <= MAX_SECRET_KEY_BYTES:
        raise GeneratorError(f"secret key size must be between 1 and {MAX_SECRET_KEY_BYTES} bytes")
    return parse_content(SecretType.SECRET_KEY, {"secretKey": encode_base64(secrets.token_bytes(size_bytes))})


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def new_private_key(algorithm: str = "EC", size: int | None = None, curve: str = "P-256") -> PrivateKey:
    """A fresh key: RSA 2048-4096 bits (multiple of 8), EC P-256/P-384/P-521, or Ed25519."""
    if algorithm == "RSA":
        bits = 3072 if size is None else size
        if bits not in RSA_SIZES or bits % 8:
            raise GeneratorError("RSA key size must be a multiple of 8 between 2048 and 4096")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if algorithm == "EC":
        if curve not in EC_CURVES:
            raise GeneratorError(f"EC curve must be one of {sorted(EC_CURVES)}")
        return ec.generate_private_key(EC_CURVES[curve]())
    if algorithm == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise GeneratorError(f"key algorithm must be one of {list(KEY_ALGORITHMS)}")


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def generate_private_key(
    algorithm: str = "EC", size: int | None = None, curve: str = "P-256"
) -> SecretContent:
    key = new_private_key(algorithm, size, curve)
    return parse_content(SecretType.PRIVATE_KEY, {"privateKey": private_key_pem(key)})


@dataclass(frozen=True)
class CertificateRequest:
    """What a self-signed certificate should say."""

    common_name: str
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    validity: timedelta = timedelta(days=90)
    key_algorithm: str = "EC"
    key_size: int | None = None
    curve: str = "P-256"


def generate_self_signed_certificate(
    request: CertificateRequest, now: datetime | None = None
) -> SecretContent:
    """certificate content with its private key; ``now`` is injectable so tests control validity."""
    if not request.common_name or request.validity <= timedelta(0):
        raise GeneratorError("a certificate needs a common name and a positive validity")
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    key = new_private_key(request.key_algorithm, request.key_size, request.curve)
    try:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, request.common_name)])
        alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in request.dns_names]
        alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in request.ip_addresses]
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - timedelta(minutes=5))
            .not_valid_after(start + request.validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if alternative_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        certificate = builder.sign(key, algorithm)
    except ValueError:
        raise GeneratorError("the certificate subject, SANs or validity are invalid") from None
    return parse_content(
        SecretType.CERTIFICATE,
        {
            "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            "privateKey": private_key_pem(key),
        },
    )
