"""Namespace labels decide who may use an organisation profile; a relabel must take effect promptly.

The profile resolver caches namespace labels for a short while; this watch replaces the cached
labels as soon as they change and wakes the namespace's ManagedSecrets, so a namespace that
stops matching ``spec.sharing.namespaceSelector`` loses access (condition reason
``ProfileNotAllowed``) within one sync, and one that starts matching gains it.
"""

from __future__ import annotations

from typing import Any

import kopf

from vaultsync.handlers import runtime as runtime_module


@kopf.on.event("", "v1", "namespaces")
async def namespace_labels_changed(body: kopf.Body, logger: kopf.Logger, **_: Any) -> None:
    rt = runtime_module.RUNTIME
    if rt is None:
        return
    namespace = str(body.metadata.name)
    if not rt.profiles.namespace_relabelled(namespace, dict(body.metadata.labels or {})):
        return
    woken = [owner for owner in rt.scheduler.owners() if owner.startswith(f"{namespace}/")]
    for owner in woken:
        rt.force_sync(owner)
    logger.info(
        "labels of namespace %s changed: %d ManagedSecrets re-check their profiles", namespace, len(woken)
    )
