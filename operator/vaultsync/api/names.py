"""The API group, its version and the names of its kinds: the one place every layer takes them from."""

from __future__ import annotations

GROUP = "vaultsync.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

VAULT_PROFILES = "vaultprofiles"
MANAGED_SECRETS = "managedsecrets"
APPROVAL_REQUESTS = "approvalrequests"
PLURALS = (VAULT_PROFILES, MANAGED_SECRETS, APPROVAL_REQUESTS)

KIND_OF = {
    VAULT_PROFILES: "VaultProfile",
    MANAGED_SECRETS: "ManagedSecret",
    APPROVAL_REQUESTS: "ApprovalRequest",
}
