"""Who may use which VaultProfile: same-namespace profiles, or organisation profiles shared by label.

Pure decision over the profile body and the namespace's labels; the caller fetches them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def access_denied_reason(
    profile: Mapping[str, Any],
    user_namespace: str,
    user_namespace_labels: Mapping[str, str],
    operator_namespace: str,
) -> str | None:
    """Why ``user_namespace`` may not use ``profile``, or None when it may."""
    profile_ns = profile["metadata"]["namespace"]
    name = profile["metadata"]["name"]
    if profile_ns == user_namespace:
        return None
    if profile_ns != operator_namespace:
        return (
            f"VaultProfile {profile_ns}/{name} is in another namespace; only profiles in the operator's "
            f"namespace {operator_namespace} can be shared"
        )
    selector = (profile.get("spec", {}).get("sharing") or {}).get("namespaceSelector")
    if selector is None:
        return f"VaultProfile {profile_ns}/{name} is not shared (spec.sharing.namespaceSelector is unset)"
    if not selector_matches(selector, user_namespace_labels):
        return (
            f"VaultProfile {profile_ns}/{name} does not share with namespace {user_namespace} "
            "(its labels do not match spec.sharing.namespaceSelector)"
        )
    return None
