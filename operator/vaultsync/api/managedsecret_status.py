"""``ManagedSecret`` status: versions, per-target state, consumers and compliance results.

Status is readable by anyone who can read the resource, so it carries fingerprints (keyed
HMACs) and never content.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import (
    CONDITIONS_SCHEMA,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    SHORT_TEXT,
    Condition,
)
from vaultsync.api.schema import model, prop

FINGERPRINT: dict[str, object] = {"maxLength": 80, "pattern": r"^hmac-sha256:[0-9a-f]{64}$"}
"""A keyed fingerprint of (type, content)."""

SHORT_FINGERPRINT_LENGTH = 12
"""Hex digits of the fingerprint shown by ``kubectl get``."""

MAX_VERSIONS = 50
"""How many versions the status keeps; older ones are dropped first."""


def short_fingerprint(fingerprint: str) -> str:
    """The few hex digits of a fingerprint that ``kubectl get`` shows (``status.shortFingerprint``)."""
    return fingerprint.rpartition(":")[2][:SHORT_FINGERPRINT_LENGTH]


class Phase(StrEnum):
    SYNCED = "Synced"
    SYNCING = "Syncing"
    PENDING_APPROVAL = "PendingApproval"
    REJECTED = "Rejected"
    NON_COMPLIANT = "NonCompliant"
    FAILED = "Failed"
    INACTIVE = "Inactive"
    DELETING = "Deleting"


class ConditionType(StrEnum):
    READY = "Ready"
    SYNCED = "Synced"
    COMPLIANT = "Compliant"
    APPROVED = "Approved"
    EXPIRING_SOON = "ExpiringSoon"


class TargetKind(StrEnum):
    VAULT = "Vault"
    KUBERNETES_SECRET = "KubernetesSecret"  # noqa: S105 - a kind name, not a credential


class TargetState(StrEnum):
    SYNCED = "Synced"
    PENDING = "Pending"
    FAILED = "Failed"
    DRIFTED = "Drifted"
    DELETED = "Deleted"
    """Removed while the ManagedSecret is Inactive."""
    DISABLED = "Disabled"
    """Disabled in the vault while the ManagedSecret is Inactive."""
    RETAINED = "Retained"
    """Left as it is while Inactive (the vault cannot disable, or vaultsync does not own it)."""


@model()
class SecretVersion(Model):
    """One version of the content, as read from the source."""

    version: int = prop("Version number, counting from 1.", schema={"minimum": 1, "format": "int64"})
    fingerprint: str = prop("Fingerprint of the content of this version.", schema=FINGERPRINT)
    vault_profile: str = prop(
        "The source VaultProfile the version was read from, as namespace/name.", schema=SHORT_TEXT
    )
    source_version: str | None = prop(
        "The source vault's own version identifier (KV version, AWS VersionId, Azure version).",
        default=None,
        schema=SHORT_TEXT,
    )
    created_at: datetime = prop("When vaultsync first saw this version.")


@model()
class TargetStatus(Model):
    """Where one copy stands."""

    kind: TargetKind = prop("Vault for a sync target, KubernetesSecret for a Kubernetes Secret.")
    vault_profile: str | None = prop(
        "The target VaultProfile as namespace/name (kind Vault).", default=None, schema=SHORT_TEXT
    )
    path: str | None = prop(
        "Path of the copy in the target vault (kind Vault).", default=None, schema=SHORT_TEXT
    )
    namespace: str | None = prop(
        "Namespace of the Secret (kind KubernetesSecret).", default=None, schema=DNS_LABEL
    )
    name: str | None = prop("Name of the Secret (kind KubernetesSecret).", default=None, schema=DNS_SUBDOMAIN)
    fingerprint: str | None = prop("Fingerprint of what the target holds.", default=None, schema=FINGERPRINT)
    version: str | None = prop(
        "The target's own version id: KV version, AWS VersionId, Azure version or Secret resourceVersion.",
        default=None,
        schema=SHORT_TEXT,
    )
    synced_at: datetime | None = prop("When the target was last written or confirmed.", default=None)
    state: TargetState = prop(
        "Synced, Pending, Failed, Drifted (changed outside vaultsync), or while Inactive: Deleted,"
        " Disabled (in the vault) or Retained (left as it is)."
    )
    message: str | None = prop(
        "What went wrong, for people; never contains secret values.", default=None, schema={"maxLength": 1024}
    )


@model()
class Consumer(Model):
    """A workload that uses one of the Kubernetes Secrets (env, envFrom or a volume)."""

    kind: str = prop("Kind of the workload, e.g. Deployment or Pod.", schema={"maxLength": 63})
    namespace: str = prop("Namespace of the workload.", schema=DNS_LABEL)
    name: str = prop("Name of the workload.", schema=DNS_SUBDOMAIN)
    secret: str = prop("Name of the Kubernetes Secret it uses.", schema=DNS_SUBDOMAIN)


@model()
class ComplianceResult(Model):
    """The outcome of one compliance rule."""

    rule: str = prop(
        "The rule, as named in spec.compliance.rules of the VaultProfile (e.g. minLength), prefixed "
        "with the profile (namespace/name: minLength) when several profiles have rules.",
        schema={"maxLength": 330},
    )
    passed: bool = prop("Whether the content passes the rule.")
    message: str | None = prop(
        "Why the rule failed; names fields, never echoes values.", default=None, schema={"maxLength": 1024}
    )


@model()
class ComplianceStatus(Model):
    """Compliance of the current content with the source profile's rules."""

    results: tuple[ComplianceResult, ...] = prop(
        "One result per evaluated rule.",
        default=(),
        schema={"maxItems": 32, "x-kubernetes-list-type": "atomic"},
    )
    checked_at: datetime | None = prop("When the rules were last evaluated.", default=None)


@model()
class SealedApprovalRecord(Model):
    """What the operator remembers about the content it last pushed, sealed with its own key.

    Status is writable by others, so the operator trusts these fields only while ``seal``
    verifies; an edited or forged record is ignored and reported.
    """

    fingerprint: str = prop("Fingerprint of the content last pushed.", schema=FINGERPRINT)
    source_identity: str | None = prop(
        "The source (profile and path) that content was read from.", default=None, schema=SHORT_TEXT
    )
    request: str | None = prop(
        "The ApprovalRequest whose decisions approved the push; empty when it was not gated.",
        default=None,
        schema=DNS_SUBDOMAIN,
    )
    request_uid: str | None = prop("The uid of that ApprovalRequest.", default=None, schema=SHORT_TEXT)
    decisions_digest: str | None = prop(
        "Digest of the sealed decisions the approval rested on.", default=None, schema=SHORT_TEXT
    )
    seal: str = prop(
        "HMAC under the installation key over the ManagedSecret's uid and the fields above.",
        schema=FINGERPRINT,
    )


@model()
class ManagedSecretStatus(Model):
    """Observed state of a ManagedSecret, written by the operator."""

    phase: Phase | None = prop(
        "Synced, Syncing, PendingApproval, Rejected, NonCompliant, Failed, Inactive or Deleting.",
        default=None,
    )
    conditions: tuple[Condition, ...] = prop(
        "Ready, Synced, Compliant, Approved and ExpiringSoon.", default=(), schema=CONDITIONS_SCHEMA
    )
    current_version: int | None = prop("Number of the current version.", default=None, schema={"minimum": 1})
    fingerprint: str | None = prop("Fingerprint of the current content.", default=None, schema=FINGERPRINT)
    short_fingerprint: str | None = prop(
        "The first hex digits of the fingerprint, shown by kubectl get.",
        default=None,
        schema={"maxLength": 16, "pattern": "^[0-9a-f]+$"},
    )
    expires_at: datetime | None = prop(
        "When the current content expires (spec.expiresAt or the certificate's notAfter).", default=None
    )
    versions: tuple[SecretVersion, ...] = prop(
        f"History of versions, newest last; at most {MAX_VERSIONS} are kept.",
        default=(),
        schema={"maxItems": MAX_VERSIONS, "x-kubernetes-list-type": "atomic"},
    )
    targets: tuple[TargetStatus, ...] = prop(
        "State of every copy: sync targets and Kubernetes Secrets.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "atomic"},
    )
    consumers: tuple[Consumer, ...] = prop(
        "Workloads that use the Kubernetes Secrets: see them before changing the secret.",
        default=(),
        schema={"maxItems": 256, "x-kubernetes-list-type": "atomic"},
    )
    approval_request: str | None = prop(
        "Name of the ApprovalRequest the pending change waits for.", default=None, schema=DNS_SUBDOMAIN
    )
    compliance: ComplianceStatus | None = prop("Compliance of the current content.", default=None)
    observed_generation: int | None = prop(
        "The metadata.generation this status describes.",
        default=None,
        schema={"format": "int64", "minimum": 0},
    )
    last_synced_at: datetime | None = prop("When every target was last confirmed in sync.", default=None)
    source_identity: str | None = prop(
        "The source (profile and path) the current version was read from; when the spec names another, "
        "the change is a ChangeSource.",
        default=None,
        schema=SHORT_TEXT,
    )
    approved_fingerprint: str | None = prop(
        "Fingerprint of the content the last Approved ApprovalRequest allowed to be pushed "
        "(display only: the operator trusts status.approval, whose seal it checks).",
        default=None,
        schema=FINGERPRINT,
    )
    approval: SealedApprovalRecord | None = prop(
        "The operator's sealed record of the content last pushed and the request that approved it.",
        default=None,
    )
    last_rotated_at: datetime | None = prop(
        "When spec.generate last wrote new content into the source (creation or rotation).", default=None
    )
    deleted_at: datetime | None = prop("When deletion was requested (phase Deleting).", default=None)
    restorable_until: datetime | None = prop(
        "Until when a deleted secret's copies can still be restored; they are removed afterwards.",
        default=None,
    )
