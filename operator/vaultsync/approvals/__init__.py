"""approvals layer of vaultsync (see DESIGN.md)."""
