"""Fingerprints: keyed HMAC over the canonical encoding, constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from secret_material import PROPERTY, typed_documents

from vaultsync.secrets.content import parse_content
from vaultsync.secrets.errors import FingerprintKeyError
from vaultsync.secrets.fingerprint import (
    fingerprint_of,
    fingerprint_of_document,
    fingerprints_equal,
    is_fingerprint,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_fingerprint_is_hmac_of_canonical_bytes() -> None:
    content = parse_content("basic-auth", {"username": "u", "password": "hunter2-pass"})
    expected = hmac.new(KEY, content.canonical_bytes(), hashlib.sha256).hexdigest()
    assert fingerprint_of(content, KEY) == f"hmac-sha256:{expected}"
    assert (
        fingerprint_of(content, KEY) != "hmac-sha256:" + hashlib.sha256(content.canonical_bytes()).hexdigest()
    )


@pytest.mark.parametrize("key", [pytest.param(b"", id="empty"), pytest.param(b"short", id="short")])
def test_unusable_keys_are_rejected(key: bytes) -> None:
    content = parse_content("generic", {"value": "x"})
    with pytest.raises(FingerprintKeyError):
        fingerprint_of(content, key)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        pytest.param("hmac-sha256:" + "a" * 64, "hmac-sha256:" + "a" * 64, True, id="same"),
        pytest.param("hmac-sha256:" + "a" * 64, "hmac-sha256:" + "b" * 64, False, id="different"),
        pytest.param("hmac-sha256:" + "a" * 64, "", False, id="empty"),
    ],
)
def test_fingerprints_equal(a: str, b: str, equal: bool) -> None:
    assert fingerprints_equal(a, b) is equal


@PROPERTY
@given(typed_documents())
def test_fingerprint_properties(typed: tuple[str, dict[str, object]]) -> None:
    secret_type, document = typed
    content = parse_content(secret_type, document)
    fingerprint = fingerprint_of(content, KEY)
    assert is_fingerprint(fingerprint)
    assert fingerprints_equal(fingerprint, fingerprint_of_document(secret_type, document, KEY))
    assert not fingerprints_equal(fingerprint, fingerprint_of(content, OTHER_KEY))
