"""Author records for resources created before any operator (and its webhooks) runs.

In a cluster the mutating admission webhook records who wrote each VaultProfile and
ManagedSecret spec, sealed with the installation's HMAC key, and the operator acts with no more
right than that author. Benchmarks and the chaos tier create their objects while no webhook is
being served (first the objects, then the operator; or an operator that is killed and
restarted), so they write the record the webhook would write for the admin, with the same key.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from vaultsync.reconcile.authorship import AUTHOR_ANNOTATION, Author, author_record

OPERATOR_NAMESPACE = "vaultsync-system"
HMAC_SECRET = "vaultsync-hmac-key"  # noqa: S105 - a Secret name, not a value
ADMIN = Author("admin", ("system:masters",))


def installation_key(core: client.CoreV1Api, namespace: str = OPERATOR_NAMESPACE) -> bytes:
    """The per-installation HMAC key, created here (as the operator would) when it does not exist."""
    try:
        core.create_namespaced_secret(
            namespace,
            {
                "metadata": {"name": HMAC_SECRET, "labels": {"app.kubernetes.io/managed-by": "vaultsync"}},
                "immutable": True,
                "type": "Opaque",
                "data": {"key": base64.b64encode(os.urandom(32)).decode()},
            },
        )
    except ApiException as e:
        if e.status != 409:
            raise
    data = core.read_namespaced_secret(HMAC_SECRET, namespace).data
    return base64.b64decode(data["key"])


def create_authored(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    plural: str,
    body: dict[str, Any],
    who: Author = ADMIN,
) -> dict[str, Any]:
    """Creates ``body`` (``kind``, ``metadata.namespace``) with the author record of ``who``.

    The seal covers the spec as the apiserver stores it, with the CRD's defaults filled in (as a
    mutating webhook sees it): a server-side dry run returns that spec first.
    """
    group, version = str(body["apiVersion"]).split("/")
    namespace = body["metadata"]["namespace"]
    defaulted = custom.create_namespaced_custom_object(group, version, namespace, plural, body, dry_run="All")
    record = author_record(installation_key(core), str(body["kind"]), defaulted, who)
    body.setdefault("metadata", {}).setdefault("annotations", {})[AUTHOR_ANNOTATION] = record
    created: dict[str, Any] = custom.create_namespaced_custom_object(group, version, namespace, plural, body)
    return created
