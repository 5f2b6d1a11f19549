"""Thin kopf glue: the only layer that knows kopf. Importing it registers every handler."""

from vaultsync.handlers import (
    admission_boundary,
    approvalrequest,
    consumers,
    managedsecret,
    namespaces,
    references,
    startup,
    vaultprofile,
    webhook,
)

__all__ = [
    "admission_boundary",
    "approvalrequest",
    "consumers",
    "managedsecret",
    "namespaces",
    "references",
    "startup",
    "vaultprofile",
    "webhook",
]
