"""api layer of vaultsync (see DESIGN.md)."""
