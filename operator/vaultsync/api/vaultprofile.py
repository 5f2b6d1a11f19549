"""``VaultProfile``: a connection to one vault, plus the policies for secrets stored in it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from vaultsync.api.codec import Model
from vaultsync.api.common import CONDITIONS_SCHEMA, DURATION, SHORT_TEXT, Condition, LabelSelector
from vaultsync.api.policy import ApprovalPolicy, CompliancePolicy
from vaultsync.api.providers import Provider, ProviderKind
from vaultsync.api.schema import model, prop


class VaultProfileConditionType(StrEnum):
    READY = "Ready"
    PERMISSIONS_VERIFIED = "PermissionsVerified"


@model()
class RateLimit(Model):
    """Client-side rate limit of calls to the vault, shared by every secret using the profile."""

    qps: float = prop(
        "Sustained requests per second.", default=10.0, schema={"exclusiveMinimum": True, "minimum": 0}
    )
    burst: int = prop("Requests allowed in a burst above qps.", default=20, schema={"minimum": 1})


@model()
class Sharing(Model):
    """Lets ManagedSecrets of other namespaces use this organisation-level profile."""

    namespace_selector: LabelSelector = prop(
        """Namespaces whose ManagedSecrets may use this profile, by their labels. Honoured only for
        profiles in the operator's own namespace; an empty selector selects every namespace."""
    )


@model()
class VaultProfileSpec(Model):
    """Desired state of a VaultProfile."""

    provider: Provider = prop(
        "The vault to connect to: exactly one of hashicorp, aws, azure, kubernetes, env."
    )
    refresh_interval: str = prop(
        "How often secrets using this profile are re-read from the vault, e.g. 30s, 5m, 1h.",
        default="1h",
        schema=DURATION,
    )
    rate_limit: RateLimit | None = prop(
        "Client-side rate limit of calls to the vault, shared by every secret using the profile.",
        default=None,
    )
    sharing: Sharing | None = prop(
        "Lets ManagedSecrets of other namespaces use this profile (organisation scope).", default=None
    )
    approval: ApprovalPolicy | None = prop(
        "Changes that wait for people: gated operations create an ApprovalRequest first.", default=None
    )
    compliance: CompliancePolicy | None = prop(
        "Compliance rules for the content of secrets in this vault, and what happens when one fails.",
        default=None,
    )


@model()
class Permissions(Model):
    """Outcome of the last permission check against the vault."""

    missing: tuple[str, ...] = prop(
        "Exact provider permission names that the credentials lack, e.g. secretsmanager:PutSecretValue.",
        default=(),
        schema={"maxItems": 64, "x-kubernetes-list-type": "set"},
        items=SHORT_TEXT,
    )


@model()
class VaultProfileStatus(Model):
    """Observed state of a VaultProfile, written by the operator."""

    provider: ProviderKind | None = prop(
        "Which provider the spec selects (shown by kubectl get).", default=None
    )
    conditions: tuple[Condition, ...] = prop(
        "Ready (the vault answers with these credentials) and PermissionsVerified.",
        default=(),
        schema=CONDITIONS_SCHEMA,
    )
    permissions: Permissions | None = prop("Result of the last permission check.", default=None)
    last_checked_at: datetime | None = prop(
        "When the connection and permissions were last checked.", default=None
    )
    managed_secrets: int | None = prop(
        "How many ManagedSecrets use this profile as source or target.", default=None, schema={"minimum": 0}
    )
    observed_generation: int | None = prop(
        "The metadata.generation this status describes.",
        default=None,
        schema={"format": "int64", "minimum": 0},
    )
