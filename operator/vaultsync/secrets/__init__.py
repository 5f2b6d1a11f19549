"""secrets layer of vaultsync (see DESIGN.md)."""
