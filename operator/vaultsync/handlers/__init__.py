"""handlers layer of vaultsync (see DESIGN.md)."""
