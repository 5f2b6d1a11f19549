"""backends layer of vaultsync (see DESIGN.md)."""
