"""The ApprovalRequest the operator opens for a gated change: its whole body, built purely.

Owned by the ManagedSecret (controller reference, so requests go away with it), annotated
with the generation and attempt it was opened at (see ``approvals.lifecycle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vaultsync.api.codec import status_time
from vaultsync.approvals.lifecycle import (
    ATTEMPT_ANNOTATION,
    GENERATION_ANNOTATION,
    Wanted,
    request_name,
)

API_VERSION = "vaultsync.io/v1alpha1"


def request_body(
    secret_meta: Mapping[str, Any],
    wanted: Wanted,
    *,
    summary: Mapping[str, Any],
    requested_by: str | None,
    expires_at: datetime,
    attempt: int,
) -> dict[str, Any]:
    """The ApprovalRequest for ``wanted``, from the ManagedSecret's metadata."""
    name = request_name(secret_meta["name"], wanted.operation, wanted.fingerprint, attempt)
    spec: dict[str, Any] = {
        "managedSecret": secret_meta["name"],
        "operation": wanted.operation,
        "fingerprint": wanted.fingerprint,
        "summary": dict(summary),
        "expiresAt": status_time(expires_at),
    }
    if requested_by:
        spec["requestedBy"] = requested_by
    return {
        "apiVersion": API_VERSION,
        "kind": "ApprovalRequest",
        "metadata": {
            "name": name,
            "namespace": secret_meta["namespace"],
            "labels": {"app.kubernetes.io/managed-by": "vaultsync"},
            "annotations": {
                GENERATION_ANNOTATION: str(secret_meta.get("generation") or 0),
                ATTEMPT_ANNOTATION: str(attempt),
            },
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "ManagedSecret",
                    "name": secret_meta["name"],
                    "uid": secret_meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": spec,
    }


def source_of_identity(identity: str | None) -> dict[str, Any] | None:
    """``vault:<namespace>/<profile>:<path>`` (``status.sourceIdentity``) as a ``spec.source``."""
    if not identity or not identity.startswith("vault:"):
        return None
    profile, _, path = identity.removeprefix("vault:").partition(":")
    namespace, _, name = profile.partition("/")
    if not name or not path:
        return None
    return {"vaultProfile": {"name": name, "namespace": namespace}, "path": path}
