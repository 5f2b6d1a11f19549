"""backends layer of vaultsync (see docs/architecture.md)."""
