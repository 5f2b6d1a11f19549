"""When generated content is due for rotation, and what a generated document keeps.

Pure. The rotation clock starts at the newest of: the last generation (``status.lastRotatedAt``),
the creation of the current version (``status.versions[-1].createdAt``) and, when the vault
says, the write time of the source's current version. So a person who rotates by hand also
resets the clock, and a rotation that waits for approval is not generated twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from vaultsync.secrets.content import SecretType

PASSWORD_FIELD: dict[str, str] = {
    SecretType.BASIC_AUTH: "password",
    SecretType.API_KEY: "apiKey",
    SecretType.BEARER_TOKEN: "token",
    SecretType.GENERIC: "value",
    SecretType.KEY_VALUE: "password",
}
"""Where a generated password goes, per spec.type (the content field of the type)."""


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def rotation_baseline(
    status: Mapping[str, Any], source_written_at: datetime | None = None
) -> datetime | None:
    """When the rotation clock started; None when nothing is known yet."""
    versions = status.get("versions") or []
    candidates = [
        parse_time(status.get("lastRotatedAt")),
        parse_time(versions[-1].get("createdAt")) if versions else None,
        source_written_at,
    ]
    known = [c for c in candidates if c is not None]
    return max(known) if known else None


def seconds_until_rotation(
    interval: timedelta | None, baseline: datetime | None, now: datetime
) -> float | None:
    """Seconds until the next rotation (<= 0: due now); None when it never rotates."""
    if interval is None or interval <= timedelta(0) or baseline is None:
        return None
    return (baseline + interval - now).total_seconds()


def rotation_due(interval: timedelta | None, baseline: datetime | None, now: datetime) -> bool:
    remaining = seconds_until_rotation(interval, baseline, now)
    return remaining is not None and remaining <= 0


def generated_document(
    secret_type: str,
    generated: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    default_username: str,
) -> dict[str, Any]:
    """The source document after generating: generated fields replace, every other field stays.

    A new basic-auth secret needs a username nobody generated: the ManagedSecret's name.
    """
    document = dict(existing or {})
    document.update(generated)
    if secret_type == SecretType.BASIC_AUTH:
        document.setdefault("username", default_username)
    return document
