"""Facts read from keys, certificates and PKCS#12 files with ``cryptography``.

The secret model reports what a key or certificate *is* (algorithm, size, subject, validity) so
compliance rules and status can use it without ever touching the secret bytes again. Every
failure of the parser becomes a ``ContentError`` naming the field; the parser's own message is
dropped because it may quote the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.pem import PemBlock

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | dsa.DSAPrivateKey
    | x25519.X25519PrivateKey
    | x448.X448PrivateKey
)

Loader = Callable[[bytes | None], object]
_PARSER_FAILURES = (ValueError, TypeError, UnsupportedAlgorithm, IndexError, OverflowError)
PRIVATE_KEY_LABELS = frozenset(
    {
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
    }
)


@dataclass(frozen=True)
class KeyFacts:
    """What kind of key this is: ``algorithm`` is RSA, EC, Ed25519, Ed448, DSA, X25519 or X448."""

    algorithm: str
    size: int
    """Key size in bits (modulus for RSA/DSA, curve size for EC, 256/448 for the Edwards curves)."""
    curve: str | None = None
    """Curve name for EC keys, e.g. ``secp256r1``."""


@dataclass(frozen=True)
class CertificateFacts:
    """The public facts of a leaf certificate and its chain."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    key: KeyFacts
    chain_length: int


def key_facts(key: object) -> KeyFacts:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return KeyFacts("RSA", key.key_size)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return KeyFacts("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyFacts("Ed25519", 256)
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return KeyFacts("Ed448", 448)
    if isinstance(key, dsa.DSAPrivateKey | dsa.DSAPublicKey):
        return KeyFacts("DSA", key.key_size)
    if isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
        return KeyFacts("X25519", 256)
    if isinstance(key, x448.X448PrivateKey | x448.X448PublicKey):
        return KeyFacts("X448", 448)
    return KeyFacts(type(key).__name__, 0)


def load_private_key_pem(block: PemBlock, passphrase: bytes | None, field: str) -> PrivateKey:
    """Load one PEM private key block; passphrase problems are reported on the ``passphrase`` field."""
    if block.label not in PRIVATE_KEY_LABELS:
        raise ContentError(field, "is not a private key PEM block")
    data = block.to_text().encode("ascii")
    if block.label == "OPENSSH PRIVATE KEY":
        return _load(lambda password: serialization.load_ssh_private_key(data, password), passphrase, field)
    return _load(lambda password: serialization.load_pem_private_key(data, password), passphrase, field)


def load_private_key_der(der: bytes, passphrase: bytes | None, field: str) -> PrivateKey:
    return _load(lambda password: serialization.load_der_private_key(der, password), passphrase, field)


def _load(loader: Loader, passphrase: bytes | None, field: str) -> PrivateKey:
    encrypted = _is_encrypted(loader, field)
    if encrypted and passphrase is None:
        raise ContentError("passphrase", "is required because the private key is encrypted")
    if not encrypted and passphrase is not None:
        raise ContentError("passphrase", "is set but the private key is not encrypted")
    if not encrypted:
        key = _call_loader(loader, None, field, "is not a readable private key")
    else:
        key = _call_loader(loader, passphrase, "passphrase", "does not decrypt the private key")
    return _as_private_key(key, field)


def _is_encrypted(loader: Loader, field: str) -> bool:
    try:
        loader(None)
    except TypeError:
        return True
    except _PARSER_FAILURES:
        raise ContentError(field, "is not a readable private key") from None
    return False


def _call_loader(loader: Loader, password: bytes | None, field: str, problem: str) -> object:
    try:
        return loader(password)
    except _PARSER_FAILURES:
        raise ContentError(field, problem) from None


def _as_private_key(key: object, field: str) -> PrivateKey:
    if isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey
        | dsa.DSAPrivateKey
        | x25519.X25519PrivateKey
        | x448.X448PrivateKey,
    ):
        return key
    raise ContentError(field, "holds an unsupported kind of private key")


def public_key_der(public_key: PublicKeyTypes) -> bytes:
    """SubjectPublicKeyInfo DER of a public key, to check that a private key and a certificate match."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_certificates(blocks: list[PemBlock], field: str) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for number, block in enumerate(blocks, start=1):
        if block.label != "CERTIFICATE":
            raise ContentError(field, f"block {number} is not a CERTIFICATE")
        try:
            certificates.append(x509.load_der_x509_certificate(block.der))
        except _PARSER_FAILURES:
            raise ContentError(field, f"block {number} is not a readable X.509 certificate") from None
    return certificates


def certificate_facts(chain: list[x509.Certificate], field: str) -> CertificateFacts:
    leaf = chain[0]
    try:
        return CertificateFacts(
            subject=leaf.subject.rfc4514_string(),
            issuer=leaf.issuer.rfc4514_string(),
            sans=_subject_alternative_names(leaf),
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            key=key_facts(leaf.public_key()),
            chain_length=len(chain),
        )
    except _PARSER_FAILURES:
        raise ContentError(field, "has a leaf certificate with unreadable fields") from None


def _subject_alternative_names(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = []
    for general_name in extension.value:
        if isinstance(general_name, x509.DNSName):
            names.append(f"DNS:{general_name.value}")
        elif isinstance(general_name, x509.IPAddress):
            names.append(f"IP:{general_name.value}")
        elif isinstance(general_name, x509.RFC822Name):
            names.append(f"email:{general_name.value}")
        elif isinstance(general_name, x509.UniformResourceIdentifier):
            names.append(f"URI:{general_name.value}")
    return tuple(names)


@dataclass(frozen=True)
class KeystoreFacts:
    key: KeyFacts | None
    certificate: CertificateFacts | None
    certificate_count: int


def keystore_facts(data: bytes, password: str) -> KeystoreFacts:
    """Open a PKCS#12 file, check its key matches its certificate and report what it holds."""
    candidates = [password.encode("utf-8")] + ([None] if password == "" else [])
    loaded = None
    for candidate in candidates:
        try:
            loaded = pkcs12.load_key_and_certificates(data, candidate)
            break
        except _PARSER_FAILURES:
            continue
    if loaded is None:
        raise ContentError("keystore", "cannot be opened: not PKCS#12 or the password is wrong")
    key, certificate, additional = loaded
    chain = ([certificate] if certificate is not None else []) + list(additional)
    if key is None and not chain:
        raise ContentError("keystore", "holds neither a private key nor a certificate")
    if (
        key is not None
        and certificate is not None
        and public_key_der(key.public_key()) != public_key_der(certificate.public_key())
    ):
        raise ContentError("keystore", "holds a private key that does not match its certificate")
    return KeystoreFacts(
        key=key_facts(key) if key is not None else None,
        certificate=certificate_facts(chain, "keystore") if chain else None,
        certificate_count=len(chain),
    )
