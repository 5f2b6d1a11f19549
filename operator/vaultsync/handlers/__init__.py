"""Thin kopf glue: the only layer that knows kopf. Importing it registers every handler."""

from vaultsync.handlers import consumers, managedsecret, namespaces, references, startup, vaultprofile

__all__ = ["consumers", "managedsecret", "namespaces", "references", "startup", "vaultprofile"]
