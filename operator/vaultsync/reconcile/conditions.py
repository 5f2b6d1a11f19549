"""Kubernetes-style status conditions, changed only when something about them changed.

``lastTransitionTime`` moves only when the condition's status flips, so a sync that finds
nothing new produces the very same conditions and no status PATCH.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"

MAX_MESSAGE = 512


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    type_: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: str,
    generation: int | None = None,
) -> list[dict[str, Any]]:
    """Return ``conditions`` with ``type_`` set; other conditions are kept as they are."""
    message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
    result: list[dict[str, Any]] = []
    found = False
    for condition in conditions:
        if condition.get("type") != type_:
            result.append(dict(condition))
            continue
        found = True
        moved = condition.get("status") != status
        updated = {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": now if moved else condition.get("lastTransitionTime", now),
        }
        if generation is not None:
            updated["observedGeneration"] = generation
        result.append(updated)
    if not found:
        new: dict[str, Any] = {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": now,
        }
        if generation is not None:
            new["observedGeneration"] = generation
        result.append(new)
    return result


def condition_status(conditions: Sequence[Mapping[str, Any]], type_: str) -> str | None:
    for condition in conditions:
        if condition.get("type") == type_:
            return str(condition.get("status"))
    return None


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that turns ``old`` into ``new`` at the top level; empty when equal."""
    patch: dict[str, Any] = {key: value for key, value in new.items() if old.get(key) != value}
    for key in old:
        if key not in new:
            patch[key] = None
    return patch
