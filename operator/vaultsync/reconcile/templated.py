"""Drift of a templated Kubernetes Secret: compare rendered data, not the content's natural shape.

A templated Secret holds exactly the rendered keys, which cannot be mapped back to content; so
the comparison is between keyed HMACs of Secret data: what it holds, what the templates render
now, and what vaultsync recorded (in an annotation) when it last wrote it. The third tells a
genuine change of what the Secret should hold (a template or a referenced secret changed: the
Secret still holds what was written) from an edit made out of band.

Pure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum

from vaultsync.secrets.errors import FingerprintKeyError
from vaultsync.secrets.fingerprint import FINGERPRINT_PREFIX, MINIMUM_KEY_BYTES, fingerprints_equal

DATA_DOMAIN = b"vaultsync/kubernetes-secret-data/v1\x00"
"""Separates data fingerprints from content fingerprints made with the same key."""


class RenderedState(StrEnum):
    IN_SYNC = "InSync"
    CHANGED = "Changed"
    """The Secret holds what vaultsync last wrote, but the render differs: a wanted change."""
    DRIFTED = "Drifted"
    """The Secret no longer holds what vaultsync wrote: an out-of-band edit."""


def data_fingerprint(data: Mapping[str, bytes], key: bytes) -> str:
    """``hmac-sha256:<hex>`` over Secret data: sorted keys, each key and value length-prefixed."""
    if len(key) < MINIMUM_KEY_BYTES:
        raise FingerprintKeyError(f"the fingerprint key must be at least {MINIMUM_KEY_BYTES} bytes")
    mac = hmac.new(key, DATA_DOMAIN, hashlib.sha256)
    for name in sorted(data):
        encoded = name.encode("utf-8")
        value = data[name]
        mac.update(len(encoded).to_bytes(4, "big") + encoded + len(value).to_bytes(8, "big") + value)
    return FINGERPRINT_PREFIX + mac.hexdigest()


def rendered_state(held: str, desired: str, recorded: str | None) -> RenderedState:
    """Classify a templated Secret from the data fingerprints held, desired and recorded at write."""
    if fingerprints_equal(held, desired):
        return RenderedState.IN_SYNC
    if recorded is not None and fingerprints_equal(held, recorded):
        return RenderedState.CHANGED
    return RenderedState.DRIFTED
