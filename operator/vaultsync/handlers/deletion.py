"""The glue side of deleting a ManagedSecret with ``deletionPolicy: Delete``: status, events, retries.

The deletion itself (soft delete of every copy, under the per-resource guard) is the sync
service's ``SyncEngine.delete_targets``; this decides what its outcome means for the finalizer
(``sync.finalizing``): done, or run again later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from vaultsync.api.codec import status_time
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.handlers.runtime import Runtime
from vaultsync.reconcile.retention import (
    deleting_fields,
    deletion_message,
    left_behind_message,
    planned_window,
    release_due,
    summarize,
)
from vaultsync.sync.finalizing import RetryLater
from vaultsync.sync.list_watch import owner_of

PLURAL = "managedsecrets"
DELETED = "Deleted"
LEFT_BEHIND = "CopiesLeftBehind"
RETRY_SECONDS = 10
LOG = logging.getLogger("vaultsync.sync")


def _parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def delete_with_retention(rt: Runtime, body: dict[str, Any], spec: ManagedSecretSpec) -> None:
    """The finalizer's work for ``deletionPolicy: Delete``: status Deleting, soft delete, an Event."""
    days = rt.settings.retention_days
    ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
    now = datetime.now(UTC)
    fields = deleting_fields(dict(body.get("status") or {}), now, planned_window(now, days))
    await rt.run(rt.kube.patch_status, PLURAL, ns, name, fields)
    deletions = await rt.run(rt.engine.delete_targets, body, spec)
    summary = summarize(deletions)
    if summary.restorable_until is not None:
        await rt.run(
            rt.kube.patch_status, PLURAL, ns, name, {"restorableUntil": status_time(summary.restorable_until)}
        )
    if not summary.done:
        deleted_at = _parsed(body["metadata"].get("deletionTimestamp"))
        wait = timedelta(seconds=rt.settings.orphan_release_seconds)
        terminating = await rt.run(rt.kube.namespace_terminating, ns)
        if release_due(
            deletions, namespace_terminating=terminating, deleted_at=deleted_at, now=now, wait=wait
        ):
            message = left_behind_message(summary, now - deleted_at if deleted_at else wait)
            rt.events.warn(body, LEFT_BEHIND, message)
            LOG.warning("%s: %s: %s", owner_of(body), LEFT_BEHIND, message)
            return
        raise RetryLater("could not delete every target: " + "; ".join(summary.problems), RETRY_SECONDS)
    message = deletion_message(summary, days)
    rt.events.info(body, DELETED, message)
    LOG.info("%s: %s: %s", owner_of(body), DELETED, message)
