"""Vocabulary of the secret model: the type names, the facts read from content, timestamps.

Kept apart from ``content`` so the per-type field rules (``fields``) and the content object can
both use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from vaultsync.api.common import SecretType
from vaultsync.secrets.cryptofacts import CertificateFacts, KeyFacts
from vaultsync.secrets.errors import ContentError

FieldValue = str | tuple[str, ...]
EXPIRES_AT = "expiresAt"
CANONICAL_ENCODING_VERSION = 1


SECRET_TYPES: tuple[str, ...] = tuple(member.value for member in SecretType)

# The fields whose values are the secret itself: what compliance measures and redaction masks.
# key-value has no fixed fields; every value of it is secret.
SENSITIVE_FIELDS: Mapping[SecretType, tuple[str, ...]] = MappingProxyType(
    {
        SecretType.BASIC_AUTH: ("password",),
        SecretType.API_KEY: ("apiKey",),
        SecretType.BEARER_TOKEN: ("token",),
        SecretType.JWT: ("token",),
        SecretType.CLIENT_CREDENTIALS: ("clientSecret",),
        SecretType.PRIVATE_KEY: ("privateKey", "passphrase"),
        SecretType.SECRET_KEY: ("secretKey",),
        SecretType.CERTIFICATE: ("privateKey",),
        SecretType.KEYSTORE: ("keystore", "password"),
        SecretType.KEY_VALUE: (),
        SecretType.GENERIC: ("value",),
    }
)


@dataclass(frozen=True)
class JwtClaims:
    """Registered claims read from a JWT without verifying its signature."""

    expires_at: datetime | None
    not_before: datetime | None
    issuer: str | None


@dataclass(frozen=True)
class ContentFacts:
    """Non-secret facts derived from the content; safe to log and to put in status."""

    key: KeyFacts | None = None
    certificate: CertificateFacts | None = None
    jwt: JwtClaims | None = None
    secret_key_length: int | None = None
    """Length in bytes of a secret-key's key."""


def parse_secret_type(secret_type: str) -> SecretType:
    try:
        return SecretType(secret_type)
    except ValueError:
        raise ContentError("type", f"is not one of {', '.join(SECRET_TYPES)}") from None


def parse_timestamp(value: object, field_name: str) -> datetime:
    """An RFC 3339 timestamp with a time zone, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise ContentError(field_name, "must be an RFC 3339 timestamp string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ContentError(field_name, "is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise ContentError(field_name, "must carry a time zone (e.g. Z)")
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ContentError(field_name, "is out of the supported date range") from None


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
