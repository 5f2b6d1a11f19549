"""Typed secret content: the 11 types of the API, validated and normalised.

Everything above this module (backends, reconcile, compliance, templates) handles a secret only as
a ``SecretContent``: a frozen object holding the normalised fields of one type, the facts read from
them (key algorithm, certificate validity, JWT claims) and a canonical byte encoding from which
fingerprints are computed. ``parse_content`` is the only way in and raises ``ContentError`` naming
the field and the problem, never the value. The per-type field rules live in
``vaultsync.secrets.fields``, the vocabulary (types, facts) in ``vaultsync.secrets.model``.

Every type's document may carry ``expiresAt`` (RFC 3339) besides its fields; it is metadata, part of
the canonical encoding, and for key-value content it is never one of the keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from vaultsync.api.common import SecretType
from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.fields import parse_fields
from vaultsync.secrets.model import (
    CANONICAL_ENCODING_VERSION,
    EXPIRES_AT,
    SECRET_TYPES,
    SENSITIVE_FIELDS,
    ContentFacts,
    FieldValue,
    JwtClaims,
    format_timestamp,
    parse_secret_type,
    parse_timestamp,
)

__all__ = [
    "EXPIRES_AT",
    "SECRET_TYPES",
    "ContentError",
    "ContentFacts",
    "FieldValue",
    "JwtClaims",
    "SecretContent",
    "SecretType",
    "format_timestamp",
    "parse_content",
    "parse_timestamp",
]


@dataclass(frozen=True, eq=False, repr=False)
class SecretContent:
    """Validated, normalised content of one secret. Build it with ``parse_content``.

    Equality and hashing follow ``canonical_bytes``; the repr lists field names only.
    """

    type: SecretType
    fields: Mapping[str, FieldValue]
    explicit_expires_at: datetime | None = None
    facts: ContentFacts = field(default_factory=ContentFacts)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(sorted(self.fields.items()))))

    def canonical_bytes(self) -> bytes:
        """Deterministic encoding of (type, fields, expiresAt): the input of fingerprints."""
        fields: dict[str, object] = {
            name: list(value) if isinstance(value, tuple) else value for name, value in self.fields.items()
        }
        if self.explicit_expires_at is not None:
            fields[EXPIRES_AT] = format_timestamp(self.explicit_expires_at)
        payload = {"encoding": CANONICAL_ENCODING_VERSION, "type": self.type.value, "fields": fields}
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @property
    def expires_at(self) -> datetime | None:
        """The earliest of the explicit expiresAt, the certificate notAfter and the JWT exp."""
        candidates = [self.explicit_expires_at]
        if self.facts.certificate is not None:
            candidates.append(self.facts.certificate.not_after)
        if self.facts.jwt is not None:
            candidates.append(self.facts.jwt.expires_at)
        present = [moment for moment in candidates if moment is not None]
        return min(present) if present else None

    def sensitive_values(self) -> dict[str, str]:
        """Field name -> value of the fields that are the secret itself (every value for key-value)."""
        names = SENSITIVE_FIELDS[self.type] or tuple(self.fields)
        return {name: value for name in names if isinstance(value := self.fields.get(name), str)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretContent):
            return NotImplemented
        return self.canonical_bytes() == other.canonical_bytes()

    def __hash__(self) -> int:
        return hash(self.canonical_bytes())

    def __repr__(self) -> str:
        return f"SecretContent(type={self.type.value!r}, fields={sorted(self.fields)!r}, values=<redacted>)"


def parse_content(secret_type: str, document: Mapping[str, object]) -> SecretContent:
    """Validate ``document`` as content of ``secret_type`` and return its normalised form."""
    kind = parse_secret_type(secret_type)
    if not isinstance(document, Mapping):
        raise ContentError("document", "must be an object")
    if not all(isinstance(name, str) for name in document):
        raise ContentError("document", "has a key that is not a string")
    expires_at = parse_timestamp(document[EXPIRES_AT], EXPIRES_AT) if EXPIRES_AT in document else None
    body = {name: value for name, value in document.items() if name != EXPIRES_AT}
    fields, facts = parse_fields(kind, body)
    return SecretContent(type=kind, fields=fields, explicit_expires_at=expires_at, facts=facts)
