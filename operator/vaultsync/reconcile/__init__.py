"""reconcile layer of vaultsync (see DESIGN.md)."""
