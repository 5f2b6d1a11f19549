"""compliance layer of vaultsync (see DESIGN.md)."""
