"""The three kinds of the vaultsync.io API, as :class:`~vaultsync.api.crd.Kind` records."""

from __future__ import annotations

from vaultsync.api.crd import AGE, Kind, PrinterColumn
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

KINDS: tuple[Kind, ...] = (VAULT_PROFILE,)
"""Every kind, in the order their CRDs are documented."""
