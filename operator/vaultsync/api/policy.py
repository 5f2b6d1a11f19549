"""The policies a VaultProfile attaches to its secrets: approvals and compliance rules.

They live on the profile (not on each ManagedSecret) so a security team sets them once per
vault; the approvals and compliance layers evaluate these models.
"""

from __future__ import annotations

from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import DURATION, SECRET_DATA_KEY, SHORT_TEXT, KeyAlgorithm, Operation, SecretType
from vaultsync.api.schema import Rule, model, prop


class Enforcement(StrEnum):
    """What a failed compliance rule does."""

    AUDIT = "Audit"
    ENFORCE = "Enforce"


@model(
    rules=(
        Rule(
            rule="(has(self.users) ? size(self.users) : 0) + (has(self.groups) ? size(self.groups) : 0) >= 1",
            message="spec.approval.approvers must name at least one user or group",
        ),
    )
)
class Approvers(Model):
    """Who may approve or reject: a person matches by user name or by any of their groups."""

    users: tuple[str, ...] = prop(
        "User names as the apiserver authenticates them, e.g. alice@example.com.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "set"},
        items={"minLength": 1, **SHORT_TEXT},
    )
    groups: tuple[str, ...] = prop(
        "Group names as the apiserver authenticates them, e.g. security-team.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "set"},
        items={"minLength": 1, **SHORT_TEXT},
    )


@model()
class ApprovalPolicy(Model):
    """Changes that wait for people: gated operations create an ApprovalRequest first."""

    operations: tuple[Operation, ...] = prop(
        "Operations that need approval: any of Create, Update, Delete, ChangeSource.",
        schema={"minItems": 1, "maxItems": 4, "x-kubernetes-list-type": "set"},
    )
    required_approvals: int = prop(
        "How many distinct approvers must approve before the change is applied (at least 1).",
        default=1,
        schema={"minimum": 1, "maximum": 16},
    )
    approvers: Approvers = prop(
        "Who may approve or reject: a person matches by user name or by any of their groups."
    )
    allow_self_approval: bool = prop(
        "Whether the person who caused the change may approve it themselves.", default=False
    )
    expires_after: str = prop(
        "How long a request stays open before it expires, e.g. 72h.", default="72h", schema=DURATION
    )


@model()
class ComplianceRules(Model):
    """Rules evaluated over the typed content of every secret that uses this profile."""

    min_length: int | None = prop(
        "Minimum length in characters of every secret field (passwords, tokens, keys).",
        default=None,
        schema={"minimum": 1, "maximum": 65536},
    )
    min_entropy_bits: float | None = prop(
        "Minimum estimated entropy in bits of every secret field.",
        default=None,
        schema={"minimum": 0, "maximum": 4096},
    )
    required_keys: tuple[str, ...] = prop(
        "Content fields that must be present (in addition to those the type requires).",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "set"},
        items=SECRET_DATA_KEY,
    )
    allowed_types: tuple[SecretType, ...] = prop(
        "Secret types allowed with this profile. Empty allows all types.",
        default=(),
        schema={"maxItems": 11, "x-kubernetes-list-type": "set"},
    )
    max_age: str | None = prop(
        "Maximum age of the current version before the secret must be rotated, e.g. 90d.",
        default=None,
        schema=DURATION,
    )
    certificate_min_remaining_validity: str | None = prop(
        "Certificates must stay valid at least this long from now, e.g. 30d.", default=None, schema=DURATION
    )
    certificate_max_validity: str | None = prop(
        "Maximum total validity period of a certificate, e.g. 398d.", default=None, schema=DURATION
    )
    key_algorithms: tuple[KeyAlgorithm, ...] = prop(
        "Allowed algorithms of private keys and certificates. Empty allows all.",
        default=(),
        schema={"maxItems": 3, "x-kubernetes-list-type": "set"},
    )
    key_min_size: int | None = prop(
        "Minimum key size in bits (RSA modulus, ECDSA curve size).",
        default=None,
        schema={"minimum": 1, "maximum": 16384},
    )
    forbidden_patterns: tuple[str, ...] = prop(
        "Regular expressions (RE2 syntax) that no secret field may match, e.g. ^changeme$.",
        default=(),
        schema={"maxItems": 32, "x-kubernetes-list-type": "set"},
        items={"minLength": 1, "maxLength": 512},
    )


@model()
class CompliancePolicy(Model):
    """Compliance rules and what happens when one fails."""

    enforcement: Enforcement = prop(
        "Audit reports failures in status only; Enforce also refuses to sync non-compliant content.",
        default=Enforcement.AUDIT,
    )
    rules: ComplianceRules = prop(
        "The rules every secret using this profile must pass, evaluated over its typed content."
    )
