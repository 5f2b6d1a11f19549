"""Version records of a ManagedSecret: what ``status.versions[]`` holds, and how it grows.

A version is a fingerprint of content seen at the source, numbered from 1 upwards. The history in
status is bounded (oldest records fall off), and numbers never go back: the next number is one
past the highest ever recorded in the history, so a trimmed history cannot reuse a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.fingerprint import is_fingerprint
from vaultsync.secrets.model import format_timestamp, parse_timestamp

DEFAULT_HISTORY_LIMIT = 10


@dataclass(frozen=True)
class VersionRecord:
    """One entry of ``status.versions[]``."""

    version: int
    """Sequence number, 1 for the first content ever seen."""
    fingerprint: str
    """``hmac-sha256:<hex>`` of the content of this version."""
    vault_profile: str
    """The source VaultProfile the content was read from (``name`` or ``namespace/name``)."""
    source_version: str | None
    """The backend's own version id (Vault KV version, AWS VersionId, Azure version), when it has one."""
    created_at: datetime
    """When vaultsync first saw this content."""

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ContentError("version", "must be a positive integer")
        if not is_fingerprint(self.fingerprint):
            raise ContentError("fingerprint", "must be hmac-sha256:<64 lowercase hex digits>")
        if not isinstance(self.vault_profile, str) or not self.vault_profile:
            raise ContentError("vaultProfile", "must be a non-empty string")
        if self.created_at.tzinfo is None:
            raise ContentError("createdAt", "must carry a time zone")

    def to_status(self) -> dict[str, object]:
        """The camelCase dict stored in ``status.versions[]``."""
        entry: dict[str, object] = {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "vaultProfile": self.vault_profile,
            "createdAt": format_timestamp(self.created_at),
        }
        if self.source_version is not None:
            entry["sourceVersion"] = self.source_version
        return entry

    @classmethod
    def from_status(cls, entry: Mapping[str, object]) -> VersionRecord:
        """Read a ``status.versions[]`` entry (raises ``ContentError`` naming the bad field)."""
        if not isinstance(entry, Mapping):
            raise ContentError("versions[]", "must be an object")
        for required in ("version", "fingerprint", "vaultProfile", "createdAt"):
            if required not in entry:
                raise ContentError(required, "is required")
        source_version = entry.get("sourceVersion")
        if source_version is not None and not isinstance(source_version, str | int):
            raise ContentError("sourceVersion", "must be a string")
        fingerprint, vault_profile, version = entry["fingerprint"], entry["vaultProfile"], entry["version"]
        if not isinstance(fingerprint, str):
            raise ContentError("fingerprint", "must be a string")
        if not isinstance(vault_profile, str):
            raise ContentError("vaultProfile", "must be a string")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ContentError("version", "must be a positive integer")
        return cls(
            version=version,
            fingerprint=fingerprint,
            vault_profile=vault_profile,
            source_version=None if source_version is None else str(source_version),
            created_at=parse_timestamp(entry["createdAt"], "createdAt"),
        )


def next_version_number(history: Sequence[VersionRecord]) -> int:
    """One past the highest number in ``history`` (1 for an empty history)."""
    return max((record.version for record in history), default=0) + 1


def append_version(
    history: Sequence[VersionRecord], record: VersionRecord, limit: int = DEFAULT_HISTORY_LIMIT
) -> list[VersionRecord]:
    """A new history (oldest first) with ``record`` added and only the newest ``limit`` kept.

    ``record.version`` must be ``next_version_number(history)``. Appending content that is already
    the latest version (same fingerprint and profile) returns the history unchanged, so a retried
    reconcile does not mint a new number.
    """
    if limit < 1:
        raise ContentError("limit", "must be at least 1")
    ordered = sorted(history, key=lambda entry: entry.version)
    if ordered and _same_content(ordered[-1], record):
        return ordered[-limit:]
    expected = next_version_number(ordered)
    if record.version != expected:
        raise ContentError("version", f"must be {expected}, the next number in the history")
    return [*ordered, record][-limit:]


def _same_content(a: VersionRecord, b: VersionRecord) -> bool:
    return a.fingerprint == b.fingerprint and a.vault_profile == b.vault_profile
