"""kopf glue for ManagedSecret: one daemon per resource that syncs on change and on schedule.

Watch events only wake the daemon (no kopf state is written), so a steady state makes no
PATCH at all; the daemon patches status only when the next status differs.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from vaultsync.api.common import parse_duration
from vaultsync.backends.interface import OWNER_KEY
from vaultsync.handlers import approvalrequest, metrics, retention
from vaultsync.handlers.failure_log import FAILURES, observe_sync, status_not_written
from vaultsync.handlers.k8s_targets import MANAGED_LABEL
from vaultsync.handlers.kubeapi import KUBE_ERRORS
from vaultsync.handlers.notices import post_related
from vaultsync.handlers.runtime import runtime, sleep_until
from vaultsync.handlers.sync_run import SyncResult
from vaultsync.reconcile.conditions import status_patch
from vaultsync.reconcile.lifecycle import seconds_until_lifecycle_sync
from vaultsync.reconcile.schedule import backoff, jittered

GROUP, VERSION, PLURAL = "vaultsync.io", "v1alpha1", "managedsecrets"
REFRESH_ANNOTATION = "vaultsync.io/refresh-requested-at"


def _wanted(body: kopf.Body) -> tuple[Any, ...]:
    """What, when it changes, must trigger a sync at once: the spec and the refresh annotation."""
    return (body.metadata.get("generation"), body.metadata.annotations.get(REFRESH_ANNOTATION))


def _interval(spec: kopf.Spec) -> float:
    settings = runtime().settings
    text = spec.get("refreshInterval")
    seconds = parse_duration(text).total_seconds() if text else settings.default_refresh_seconds
    return max(settings.min_refresh_seconds, seconds)


def _lifecycle_wait(status: dict[str, Any], spec: kopf.Spec) -> float:
    """Seconds until rotation or expiry needs a sync even when the vaults show nothing new."""
    horizon = timedelta(days=runtime().settings.expiry_warning_days)
    wait = seconds_until_lifecycle_sync(status, spec, datetime.now(UTC), horizon)
    return math.inf if wait is None else wait


@kopf.on.event(GROUP, VERSION, PLURAL)
def wake(memo: kopf.Memo, body: kopf.Body, **_: Any) -> None:
    wakeup = memo.get("wakeup")
    if wakeup is not None and memo.get("wanted") != _wanted(body):
        wakeup.set()


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10)
async def keep_in_sync(
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    body: kopf.Body,
    spec: kopf.Spec,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    rt = runtime()
    owner = f"{body.metadata.namespace}/{body.metadata.name}"
    memo.wakeup = rt.wakeups[owner] = asyncio.Event()
    try:
        remembered: dict[str, Any] = {}
        attempt = 0
        written: tuple[str | None, dict[str, Any]] | None = None
        while not stopped:
            memo.wakeup.clear()
            wanted = _wanted(body)
            snapshot = _with_own_status(dict(body), written)
            latest = dict(snapshot.get("status") or {})
            forced = memo.get("wanted") != wanted or owner in rt.forced or _lifecycle_wait(latest, spec) <= 0
            rt.forced.discard(owner)
            memo.wanted = wanted
            if forced or attempt or not await rt.unchanged_since(remembered, _interval(spec)):
                started = time.monotonic()
                metrics.sync_started(owner)
                result = await rt.run(rt.engine.sync, snapshot)
                source_profile = result.watched.get("source", (None, ""))[0]
                source_backend = source_profile.provider_key if source_profile else "unknown"
                metrics.observe_sync(
                    owner, source_backend, time.monotonic() - started, result.status, result.failed
                )
                await _apply(result, snapshot, body, logger)
                written = (snapshot["metadata"].get("resourceVersion"), result.status)
                latest = result.status
                attempt = attempt + 1 if result.failed else 0
                remembered = await _remember(result, _interval(spec)) if not result.failed else {}
                rt.track_usage(owner, result.watched)
            delay = (
                backoff(attempt, rt.settings.retry_base_seconds, rt.settings.retry_cap_seconds)
                if attempt
                else min(
                    jittered(_interval(spec)),
                    max(rt.settings.min_refresh_seconds, _lifecycle_wait(latest, spec)),
                )
            )
            await sleep_until(memo.wakeup, stopped, delay)
    finally:
        rt.wakeups.pop(owner, None)
        rt.track_usage(owner, {})
        metrics.forget(owner)
        FAILURES.forget(owner)


@kopf.on.event("", "v1", "secrets", labels={MANAGED_LABEL: "vaultsync"})
def target_secret_changed(body: kopf.Body, **_: Any) -> None:
    """A Kubernetes Secret target changed (or vanished): its ManagedSecret checks it at once."""
    owner = body.metadata.annotations.get(OWNER_KEY)
    rt = runtime()
    if rt.kube.is_own_write(
        str(body.metadata.namespace), str(body.metadata.name), str(body.metadata.get("resourceVersion"))
    ):
        return  # the echo of our own write, not drift
    if owner:
        rt.force_sync(owner)


@kopf.on.event("", "v1", "secrets", when=lambda body, **_: runtime().is_watched_source(body))
def source_secret_changed(body: kopf.Body, **_: Any) -> None:
    """A Kubernetes Secret that is the source of ManagedSecrets changed: they sync at once."""
    for owner in runtime().sources_of(str(body.metadata.namespace), str(body.metadata.name)):
        runtime().force_sync(owner)


async def _remember(result: SyncResult, max_age: float) -> dict[str, Any]:
    rt = runtime()
    remembered: dict[str, Any] = {}
    for key, (profile, path) in result.watched.items():
        if profile is None:
            continue
        rt.tracker.watch(profile, path)
        if key in result.versions:
            # What this sync read or wrote: exact, and free (a listing per sync would cost N
            # listings for N secrets, and a cached one may predate our own write).
            remembered[key] = (profile, path, result.versions[key])
            continue
        try:
            tokens = await rt.tokens_of(profile, max_age)
        except Exception:
            return {}
        remembered[key] = (profile, path, tokens.get(path))
    return remembered


def _with_own_status(
    body: dict[str, Any], written: tuple[str | None, dict[str, Any]] | None
) -> dict[str, Any]:
    """The body to sync, with the status we last wrote if the watch has not delivered it yet.

    A sync woken right after our own status patch would otherwise start from the status before
    it and drop what it recorded (a target's message, lastRotatedAt).
    """
    if written is not None and body["metadata"].get("resourceVersion") == written[0]:
        body["status"] = written[1]
    return body


async def _apply(result: SyncResult, synced: dict[str, Any], body: kopf.Body, logger: kopf.Logger) -> None:
    rt = runtime()
    meta = synced["metadata"]
    patch = status_patch(dict(synced.get("status") or {}), result.status)
    if patch:
        try:
            await rt.run(rt.kube.patch_status, PLURAL, meta["namespace"], meta["name"], patch)
        except KUBE_ERRORS as e:  # the API server is down: sync again (with backoff) and re-patch
            status_not_written(f"{meta['namespace']}/{meta['name']}", e, logger)
            result.status, result.failed = dict(synced.get("status") or {}), True
            return
    source = result.watched.get("source", (None, ""))[0]
    worth_logging = observe_sync(
        f"{meta['namespace']}/{meta['name']}", result.status, str(source.key) if source else None
    )
    for event in result.events:
        if event.type == "Warning":
            kopf.warn(body, reason=event.reason, message=event.message)
        else:
            kopf.info(body, reason=event.reason, message=event.message)
        if worth_logging or event.type != "Warning":
            logger.info("%s: %s", event.reason, event.message)
    post_related(result.related)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def remove_from_targets(body: kopf.Body, spec: kopf.Spec, logger: kopf.Logger, **_: Any) -> None:
    await approvalrequest.hold_gated_delete(body, logger)
    if spec.get("deletionPolicy", "Retain") != "Delete":
        logger.info("deletionPolicy Retain: targets are left in place")
    else:
        await retention.delete_with_retention(runtime(), body, logger)
    runtime().profiles.ledger.release(f"{body.metadata.namespace}/{body.metadata.name}")
