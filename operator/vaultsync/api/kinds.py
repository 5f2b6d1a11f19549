"""The three kinds of the vaultsync.io API, as :class:`~vaultsync.api.crd.Kind` records."""

from __future__ import annotations

from vaultsync.api.approvalrequest import ApprovalRequestSpec, ApprovalRequestStatus
from vaultsync.api.crd import AGE, Kind, PrinterColumn
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.api.managedsecret_status import ManagedSecretStatus
from vaultsync.api.vaultprofile import VaultProfileSpec, VaultProfileStatus

VAULT_PROFILE = Kind(
    kind="VaultProfile",
    plural="vaultprofiles",
    short_name="vp",
    description=(
        "A connection to one vault (HashiCorp Vault/OpenBao, AWS Secrets Manager, Azure Key Vault, "
        "Kubernetes Secrets or the operator's environment), with the approval and compliance "
        "policies of the secrets stored in it. Credentials are references to Kubernetes Secrets."
    ),
    spec=VaultProfileSpec,
    status=VaultProfileStatus,
    columns=(
        PrinterColumn("Provider", "string", ".status.provider", "The vault provider of the profile."),
        PrinterColumn(
            "Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Whether the vault answers."
        ),
        AGE,
    ),
)

MANAGED_SECRET = Kind(
    kind="ManagedSecret",
    plural="managedsecrets",
    short_name="ms",
    description=(
        "One logical secret: where its content lives (the source vault), where copies go (other "
        "vaults and Kubernetes Secrets) and its lifecycle. Manifests never hold secret values."
    ),
    spec=ManagedSecretSpec,
    status=ManagedSecretStatus,
    rules=(
        {
            "rule": "!has(self.spec.references) || !(self.metadata.name in self.spec.references)",
            "message": "spec.references cannot name the ManagedSecret itself",
            "fieldPath": ".spec.references",
        },
    ),
    columns=(
        PrinterColumn("Type", "string", ".spec.type", "Type of the content."),
        PrinterColumn("Phase", "string", ".status.phase", "Where the secret stands."),
        PrinterColumn("Version", "integer", ".status.currentVersion", "Number of the current version."),
        PrinterColumn(
            "Fingerprint", "string", ".status.shortFingerprint", "Start of the content fingerprint."
        ),
        # "string", not "date": kubectl renders future dates as <invalid>.
        PrinterColumn("Expires", "string", ".status.expiresAt", "When the content expires (RFC 3339)."),
        AGE,
    ),
)

APPROVAL_REQUEST = Kind(
    kind="ApprovalRequest",
    plural="approvalrequests",
    short_name="ar",
    description=(
        "A gated change to a ManagedSecret waiting for people to approve or reject it. Append a "
        "decision to spec.decisions to decide."
    ),
    spec=ApprovalRequestSpec,
    status=ApprovalRequestStatus,
    columns=(
        PrinterColumn("Secret", "string", ".spec.managedSecret", "The ManagedSecret the change belongs to."),
        PrinterColumn("Operation", "string", ".spec.operation", "The gated operation."),
        PrinterColumn(
            "Phase", "string", ".status.phase", "Pending, Approved, Rejected, Expired or Superseded."
        ),
        PrinterColumn(
            "Approvals", "integer", ".status.approvals", "Distinct eligible approvals counted (display only)."
        ),
        AGE,
    ),
)

KINDS: tuple[Kind, ...] = (VAULT_PROFILE, MANAGED_SECRET, APPROVAL_REQUEST)
"""Every kind, in the order their CRDs are documented."""
