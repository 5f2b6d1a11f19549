"""Seals: what makes an approval something the operator derived, not something it read back.

Status subresources are writable by admins, other controllers and backup tools, and a
decision can be written while the admission webhook is not registered. So every piece of
approval state the operator relies on carries an HMAC under the per-installation key (the
fingerprint key), which only the operator holds:

- the **decision seal**, stamped by the mutating webhook on each decision it admits, over the
  request's uid, the decision's position and its stamped ``decision``, ``user``, ``groups``
  and ``at``: a decision without a valid seal never counts;
- the **approval record** (``ManagedSecret.status.approval``), written when the operator pushes
  content, over the ManagedSecret's uid, the fingerprint and source it pushed, and the uid and
  decisions digest of the request that approved it (empty when the push was not gated).

Pure: hashing only. Every message starts with a domain tag, so a seal of one kind can never
pass for another, nor for a fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEAL_PREFIX = "hmac-sha256:"
DECISION_DOMAIN = "vaultsync.io/decision/v1"
RECORD_DOMAIN = "vaultsync.io/approval-record/v1"
SEALED_DECISION_FIELDS = ("decision", "user", "groups", "at")


def _seal(key: bytes, *parts: Any) -> str:
    message = json.dumps(parts, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return SEAL_PREFIX + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _same(a: str | None, b: str) -> bool:
    return isinstance(a, str) and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _decision_parts(decision: Mapping[str, Any]) -> list[Any]:
    return [
        str(decision.get("decision") or ""),
        str(decision.get("user") or ""),
        sorted(str(g) for g in decision.get("groups") or ()),
        str(decision.get("at") or ""),
    ]


def decision_seal(key: bytes, request_uid: str, index: int, decision: Mapping[str, Any]) -> str:
    """The seal the webhook stamps on decision number ``index`` of the request ``request_uid``."""
    return _seal(key, DECISION_DOMAIN, request_uid, index, *_decision_parts(decision))


def decision_is_sealed(key: bytes, request_uid: str, index: int, decision: Mapping[str, Any]) -> bool:
    return bool(request_uid) and _same(decision.get("seal"), decision_seal(key, request_uid, index, decision))


def decisions_digest(decisions: Sequence[Mapping[str, Any]]) -> str:
    """A digest of the (sealed) decisions an approval rests on: any edit changes it."""
    parts = [[*_decision_parts(d), str(d.get("seal") or "")] for d in decisions]
    encoded = json.dumps(parts, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class ApprovalRecord:
    """What the operator remembers about the content it last pushed, and what approved it."""

    fingerprint: str
    source_identity: str = ""
    request: str = ""
    """Name of the ApprovalRequest that approved the push; empty when the push was not gated."""
    request_uid: str = ""
    decisions_digest: str = ""
    seal: str = ""

    @classmethod
    def of_status(cls, status: Mapping[str, Any]) -> ApprovalRecord | None:
        raw = status.get("approval")
        if not isinstance(raw, Mapping):
            return None
        return cls(
            fingerprint=str(raw.get("fingerprint") or ""),
            source_identity=str(raw.get("sourceIdentity") or ""),
            request=str(raw.get("request") or ""),
            request_uid=str(raw.get("requestUid") or ""),
            decisions_digest=str(raw.get("decisionsDigest") or ""),
            seal=str(raw.get("seal") or ""),
        )

    def as_status(self) -> dict[str, str]:
        fields = {
            "fingerprint": self.fingerprint,
            "sourceIdentity": self.source_identity,
            "request": self.request,
            "requestUid": self.request_uid,
            "decisionsDigest": self.decisions_digest,
            "seal": self.seal,
        }
        return {k: v for k, v in fields.items() if v}

    def _expected(self, key: bytes, secret_uid: str) -> str:
        return _seal(
            key,
            RECORD_DOMAIN,
            secret_uid,
            self.request_uid,
            self.fingerprint,
            self.source_identity,
            self.decisions_digest,
        )

    def sealed(self, key: bytes, secret_uid: str) -> ApprovalRecord:
        return ApprovalRecord(
            self.fingerprint,
            self.source_identity,
            self.request,
            self.request_uid,
            self.decisions_digest,
            self._expected(key, secret_uid),
        )

    def verifies(self, key: bytes, secret_uid: str) -> bool:
        return bool(secret_uid and self.fingerprint) and _same(self.seal, self._expected(key, secret_uid))


@dataclass(frozen=True)
class Recall:
    """What a sync may take from the status it reads, once the record is checked."""

    trusted: bool
    """True when the last pushed fingerprint and source are vouched for by a valid record."""
    fingerprint: str | None
    source_identity: str | None
    problem: str | None = None
    """Why the record was ignored (forged, edited, or out of step with the status), for people."""


RECORD_INVALID = (
    "status.approval does not carry the operator's seal (it was written or edited by someone else); "
    "it is ignored and every change waits for a new approval"
)


def recall(status: Mapping[str, Any], secret_uid: str, key: bytes) -> Recall:
    """The last pushed content according to ``status``, trusted only when its record verifies.

    ``problem`` is set when something in the status claims more than the record vouches for:
    a record that does not verify, or a ``fingerprint`` / ``approvedFingerprint`` /
    ``sourceIdentity`` that differs from the record.
    """
    fingerprint, identity = status.get("fingerprint"), status.get("sourceIdentity")
    record = ApprovalRecord.of_status(status)
    if record is None:
        claimed = status.get("approvedFingerprint")
        problem = (
            "status.approvedFingerprint is set without the operator's sealed record; it is ignored"
            if claimed
            else None
        )
        return Recall(fingerprint is None, fingerprint, identity, problem)
    if not record.verifies(key, secret_uid):
        return Recall(False, fingerprint, identity, RECORD_INVALID)
    approved = status.get("approvedFingerprint")
    edited = fingerprint != record.fingerprint or (identity or "") != record.source_identity
    if edited or (approved and (not record.request or approved != record.fingerprint)):
        problem = (
            "status.fingerprint, status.sourceIdentity or status.approvedFingerprint differ from the "
            "operator's sealed record; the record is used and the edited fields are ignored"
        )
        return Recall(True, record.fingerprint, record.source_identity or None, problem)
    return Recall(True, record.fingerprint, record.source_identity or None)
