"""Shapes shared by the three kinds: references, label selectors, conditions, durations.

Patterns and bounds live here once, so every name, key and duration is validated the same
way by the apiserver (and CEL rules over lists stay within the apiserver's cost budget,
which needs a maximum length on every string and a maximum size on every list).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vaultsync.api.codec import Model
from vaultsync.api.schema import model, prop

DNS_SUBDOMAIN: dict[str, Any] = {
    "maxLength": 253,
    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
"""A Kubernetes object name (Secret, ManagedSecret, VaultProfile, Deployment...)."""

DNS_LABEL: dict[str, Any] = {"maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
"""A namespace name."""

SECRET_DATA_KEY: dict[str, Any] = {"maxLength": 253, "pattern": r"^[-._a-zA-Z0-9]+$"}
"""A key of a Kubernetes Secret's data, or a field of secret content."""

DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d))+$"
DURATION: dict[str, Any] = {"maxLength": 64, "pattern": DURATION_PATTERN}
"""A duration such as ``30s``, ``5m``, ``1h30m`` or ``90d``."""

SHORT_TEXT: dict[str, Any] = {"maxLength": 253}
"""A bounded free-form string (labels for people, identifiers from providers)."""

REMOTE_PATH: dict[str, Any] = {"minLength": 1, "maxLength": 1024, "pattern": r"^[^\s]+$"}
"""A secret's path or name inside a vault: non-empty, no whitespace."""

ENVIRONMENT: dict[str, Any] = {"minLength": 1, "maxLength": 63, "pattern": r"^[A-Za-z0-9]([-_.A-Za-z0-9]*)$"}
"""An environment key that selects one tenant's value."""

_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
_UNIT = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}


def parse_duration(text: str) -> timedelta:
    """Parse a duration string of the API (``30s``, ``5m``, ``1h30m``, ``90d``)."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError("a duration is digits followed by ms, s, m, h or d, e.g. 30s or 1h30m")
    return sum(
        (int(amount) * _UNIT[unit] for amount, unit in _DURATION_PART.findall(text)),
        start=timedelta(0),
    )


class Operation(StrEnum):
    """A change to a ManagedSecret that an approval policy can gate."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    CHANGE_SOURCE = "ChangeSource"


class SecretType(StrEnum):
    """The type of a ManagedSecret's content; it fixes the content's fields."""

    BASIC_AUTH = "basic-auth"
    API_KEY = "api-key"
    BEARER_TOKEN = "bearer-token"  # noqa: S105 - a type name, not a credential
    JWT = "jwt"
    CLIENT_CREDENTIALS = "client-credentials"
    PRIVATE_KEY = "private-key"
    SECRET_KEY = "secret-key"  # noqa: S105 - a type name, not a credential
    CERTIFICATE = "certificate"
    KEYSTORE = "keystore"
    KEY_VALUE = "key-value"
    GENERIC = "generic"


class KeyAlgorithm(StrEnum):
    RSA = "RSA"
    ECDSA = "ECDSA"
    ED25519 = "Ed25519"


_CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class LabelSelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@model()
class SecretKeyRef(Model):
    """A key of a Kubernetes Secret in the namespace of the resource that refers to it."""

    name: str = prop("Name of the Kubernetes Secret.", schema=DNS_SUBDOMAIN)
    key: str = prop("Key inside the Secret's data that holds the value.", schema=SECRET_DATA_KEY)


@model()
class ProfileRef(Model):
    """A VaultProfile, by name, optionally in another namespace (an organisation profile)."""

    name: str = prop("Name of the VaultProfile.", schema=DNS_SUBDOMAIN)
    namespace: str | None = prop(
        """Namespace of the VaultProfile. Leave empty for a profile in the same namespace; set it to
        the operator's namespace to use an organisation profile whose spec.sharing selects this
        namespace.""",
        default=None,
        schema=DNS_LABEL,
    )


@model()
class LabelSelectorRequirement(Model):
    """One requirement of a label selector."""

    key: str = prop("The label key the requirement applies to.", schema={"maxLength": 317})
    operator: LabelSelectorOperator = prop("How the key relates to the values.")
    values: tuple[str, ...] = prop(
        "Values for In and NotIn; must be empty for Exists and DoesNotExist.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "atomic"},
        items={"maxLength": 63},
    )


@model()
class LabelSelector(Model):
    """A standard Kubernetes label selector; an empty selector selects everything."""

    match_labels: dict[str, str] = prop(
        "Labels that must all be present with these values.",
        default_factory=dict,
        schema={"maxProperties": 64},
        items={"maxLength": 63},
    )
    match_expressions: tuple[LabelSelectorRequirement, ...] = prop(
        "Requirements that must all hold.",
        default=(),
        schema={"maxItems": 32, "x-kubernetes-list-type": "atomic"},
    )


@model()
class Condition(Model):
    """The standard Kubernetes condition shape (metav1.Condition)."""

    type: str = prop(
        "Type of the condition in CamelCase, e.g. Ready.",
        schema={"maxLength": 316, "pattern": _CONDITION_TYPE_PATTERN},
    )
    status: ConditionStatus = prop("Status of the condition: True, False or Unknown.")
    observed_generation: int | None = prop(
        "The metadata.generation the condition was set for.",
        default=None,
        schema={"format": "int64", "minimum": 0},
    )
    last_transition_time: datetime = prop("When the condition last changed status.")
    reason: str = prop(
        "A CamelCase reason code for programs, e.g. PermissionDenied.",
        schema={"minLength": 1, "maxLength": 1024, "pattern": r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"},
    )
    message: str = prop(
        "A sentence for people saying what happened; never contains secret values.",
        schema={"maxLength": 32768},
    )


CONDITIONS_SCHEMA: dict[str, Any] = {
    "maxItems": 16,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}
"""List extras of every ``status.conditions``: one entry per condition type."""
