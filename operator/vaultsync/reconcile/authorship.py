"""Who wrote a spec, as the admission webhook saw it, sealed so nobody else can claim it.

The operator acts on behalf of the author of a VaultProfile or ManagedSecret spec, with no more
right than that author (``handlers.access_guard`` asks the apiserver). The author is recorded by
the mutating admission webhook in the annotation ``vaultsync.io/spec-author``: the user, the
groups and an HMAC under the per-installation key over (kind, namespace, name, spec digest,
user, groups). A record written while the webhook was not registered, copied from another
object, or edited by hand does not verify and is not trusted: the author is then unknown and
the operator refuses what needs the author's rights.

The uid is not part of the seal because a mutating webhook does not see it on CREATE; the spec
digest binds the record to the exact spec the user sent (a record replayed onto an object of
the same name carries only a spec that same user wrote).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

AUTHOR_ANNOTATION = "vaultsync.io/spec-author"
_DOMAIN = b"vaultsync spec-author v1"


@dataclass(frozen=True)
class Author:
    user: str
    groups: tuple[str, ...] = ()


def spec_digest(spec: Mapping[str, Any] | None) -> str:
    canonical = json.dumps(spec or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _seal(key: bytes, kind: str, body: Mapping[str, Any], who: Author) -> str:
    meta = body.get("metadata") or {}
    sub_key = hmac.new(key, _DOMAIN, hashlib.sha256).digest()
    where = [kind, str(meta.get("namespace")), str(meta.get("name"))]
    message = json.dumps(
        [*where, spec_digest(body.get("spec")), who.user, sorted(who.groups)], separators=(",", ":")
    )
    return "hmac-sha256:" + hmac.new(sub_key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def author_record(key: bytes, kind: str, body: Mapping[str, Any], who: Author) -> str:
    """The annotation value recording ``who`` as the author of ``body``'s spec."""
    seal = _seal(key, kind, body, who)
    return json.dumps({"user": who.user, "groups": sorted(who.groups), "seal": seal}, separators=(",", ":"))


def verified_author(key: bytes, kind: str, body: Mapping[str, Any]) -> Author | None:
    """The recorded author of ``body``'s spec when the record verifies; otherwise None."""
    meta = body.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(AUTHOR_ANNOTATION)
    if not raw:
        return None
    try:
        record = json.loads(raw)
        groups: Sequence[str] = record.get("groups") or []
        who = Author(str(record["user"]), tuple(str(g) for g in groups))
        seal = str(record["seal"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    expected = _seal(key, kind, body, who)
    return who if hmac.compare_digest(seal, expected) else None


def author_annotation(
    kind: str,
    operation: str,
    old: Mapping[str, Any] | None,
    body: Mapping[str, Any],
    *,
    who: Author,
    key: bytes,
) -> str | None:
    """The value ``AUTHOR_ANNOTATION`` must have after this write (None: absent).

    A write that creates the object or changes its spec records ``who``; any other write keeps the
    previous record, whatever the client sent.
    """
    if spec_written(operation, old, body):
        return author_record(key, kind, body, who)
    previous = ((old or {}).get("metadata") or {}).get("annotations") or {}
    value = previous.get(AUTHOR_ANNOTATION)
    return str(value) if value is not None else None


def spec_written(operation: str | None, old: Mapping[str, Any] | None, body: Mapping[str, Any]) -> bool:
    """True when this admission creates the object or changes its spec."""
    return operation == "CREATE" or (old or {}).get("spec") != body.get("spec")
