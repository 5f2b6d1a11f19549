"""Fingerprints of secret content: ``hmac-sha256:<hex>`` keyed per installation.

A fingerprint lands in status, readable by anyone who can read the resource, so it is an HMAC
with a key held in an operator Secret, never a bare hash (a bare hash of a short password can
be brute-forced). Compare fingerprints with ``fingerprints_equal`` (constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import FingerprintKeyError

FINGERPRINT_PREFIX = "hmac-sha256:"
MINIMUM_KEY_BYTES = 16
FINGERPRINT_PATTERN = re.compile(r"hmac-sha256:[0-9a-f]{64}")


def fingerprint_of(content: SecretContent, key: bytes) -> str:
    """HMAC-SHA256 of the canonical encoding of ``content``."""
    if not isinstance(key, bytes) or len(key) < MINIMUM_KEY_BYTES:
        raise FingerprintKeyError(f"the fingerprint key must be at least {MINIMUM_KEY_BYTES} bytes")
    digest = hmac.new(key, content.canonical_bytes(), hashlib.sha256).hexdigest()
    return FINGERPRINT_PREFIX + digest


def fingerprint_of_document(secret_type: str, doc: Mapping[str, object], key: bytes) -> str:
    """Validate ``doc`` as ``secret_type`` content and fingerprint it (raises ``ContentError``)."""
    return fingerprint_of(parse_content(secret_type, doc), key)


def fingerprints_equal(a: str, b: str) -> bool:
    """Constant-time equality of two fingerprints."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def is_fingerprint(text: str) -> bool:
    return FINGERPRINT_PATTERN.fullmatch(text) is not None
