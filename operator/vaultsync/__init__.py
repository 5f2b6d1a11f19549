"""vaultsync: a Kubernetes operator that keeps one logical secret consistent across vaults."""

__version__ = "0.1.0"
