"""compliance layer of vaultsync (see docs/architecture.md)."""
