"""Thin kopf glue: the only layer that knows kopf. Importing it registers every handler."""

from vaultsync.handlers import managedsecret, startup, vaultprofile

__all__ = ["managedsecret", "startup", "vaultprofile"]
