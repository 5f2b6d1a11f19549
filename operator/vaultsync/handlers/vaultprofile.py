"""kopf glue for VaultProfile: connectivity and permission checks, reported as conditions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import kopf

from vaultsync.api.codec import status_time
from vaultsync.api.names import GROUP, VAULT_PROFILES, VERSION
from vaultsync.backends.errors import BackendError
from vaultsync.handlers.failure_log import FAILURES, status_not_written
from vaultsync.handlers.runtime import runtime, sleep_until
from vaultsync.reconcile.conditions import FALSE, TRUE, set_condition, status_patch
from vaultsync.reconcile.status import Reason
from vaultsync.reconcile.targets import ProfileKey
from vaultsync.sync.kubeapi import KUBE_ERRORS
from vaultsync.sync.profile_spec import path_prefix, rate_limit_of
from vaultsync.sync.profiles import ProfileError, ProfileSpecUnfit
from vaultsync.sync.secret_watch import SecretChange

PLURAL = VAULT_PROFILES
VERIFY_SECONDS = 300.0
STATUS_RETRY_SECONDS = 5.0
USAGE_PATCH_SECONDS = 10.0
"""Least time between two status PATCHes that only move ``managedSecrets``: 1,000 new
ManagedSecrets using a profile are a few PATCHes of its count, not 1,000."""


@kopf.on.event(GROUP, VERSION, PLURAL)
async def remember(body: kopf.Body, type: str | None, memo: kopf.Memo, **_: Any) -> None:
    key = ProfileKey(str(body.metadata.namespace), str(body.metadata.name))
    if type == "DELETED":
        runtime().profiles.forget(key)
        runtime().scheduler.set_rate(key, None)
        return
    stored = dict(body)
    runtime().profiles.remember(stored)
    try:
        limit = rate_limit_of(runtime().profiles.spec(stored))
    except ProfileSpecUnfit:
        limit = None  # the profile's check reports the spec; no ManagedSecret may use it meanwhile
    runtime().scheduler.set_rate(key, limit)
    if memo.get("wakeup") is not None and memo.get("generation") != body.metadata.get("generation"):
        memo.wakeup.set()


def _check(body: dict[str, Any]) -> dict[str, Any]:
    rt = runtime()
    now = status_time()
    status = dict(body.get("status") or {})
    conditions = list(status.get("conditions") or [])
    generation = body["metadata"].get("generation")
    key = ProfileKey(body["metadata"]["namespace"], body["metadata"]["name"])
    try:
        spec, provider_key, fields = rt.profiles.provider(body)
        backend = rt.profiles.backend(key, body, provider_key, fields)
        report = backend.verify_permissions(path_prefix(spec))
    except (ProfileError, BackendError) as e:
        message = getattr(e, "message", None) or str(e)
        # A profile refused by the namespace boundary or its author's rights says so, not "connection".
        reason = str(e.reason) if isinstance(e, ProfileError) else "ConnectionFailed"
        if isinstance(e, ProfileSpecUnfit):
            reason = str(Reason.INVALID_SPEC)
        conditions = set_condition(
            conditions, "Ready", FALSE, reason, message, now=now, generation=generation
        )
        conditions = set_condition(
            conditions,
            "PermissionsVerified",
            "Unknown",
            "ConnectionFailed",
            message,
            now=now,
            generation=generation,
        )
        status.update(conditions=conditions, observedGeneration=generation)
        return status
    missing = list(report.missing)
    conditions = set_condition(
        conditions, "Ready", TRUE, "Connected", f"connected to {provider_key}", now=now, generation=generation
    )
    conditions = set_condition(
        conditions,
        "PermissionsVerified",
        FALSE if missing else TRUE,
        "MissingPermissions" if missing else "AllPermissionsGranted",
        ("missing: " + ", ".join(missing)) if missing else f"checked {len(report.checked)} permissions",
        now=now,
        generation=generation,
    )
    status.update(
        conditions=conditions,
        permissions={"missing": missing},
        observedGeneration=generation,
        provider=provider_key,
    )
    if (
        status.get("conditions") != (body.get("status") or {}).get("conditions")
        or "lastCheckedAt" not in status
    ):
        status["lastCheckedAt"] = now
    return status


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10)
async def verify(
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    body: kopf.Body,
    spec: kopf.Spec,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Checks connectivity and permissions on change and every 5 minutes; keeps the usage count."""
    rt = runtime()
    key = ProfileKey(str(body.metadata.namespace), str(body.metadata.name))
    memo.wakeup = rt.profile_wakeups[key] = asyncio.Event()
    checked: tuple[Any, float] | None = None
    count_patched_at = -USAGE_PATCH_SECONDS
    while not stopped:
        memo.wakeup.clear()
        memo.generation = body.metadata.get("generation")
        if not rt.leading:  # a standby writes nothing; it looks again when it may lead
            await sleep_until(memo.wakeup, stopped, rt.settings.retry_period_seconds)
            continue
        status = dict(body.get("status") or {})
        forced = key in rt.profile_checks_forced
        rt.profile_checks_forced.discard(key)
        if (
            forced
            or checked is None
            or checked[0] != memo.generation
            or time.monotonic() - checked[1] >= VERIFY_SECONDS
        ):
            status = await rt.run(_check, dict(body))
            checked = (memo.generation, time.monotonic())
        status["managedSecrets"] = len(rt.profile_users.get(key, ()))
        patch = status_patch(dict(body.get("status") or {}), status)
        count_only = set(patch) == {"managedSecrets"}
        wait = USAGE_PATCH_SECONDS - (time.monotonic() - count_patched_at)
        if count_only and wait > 0:
            # The first change of the count is written at once; the ones that follow it within
            # the interval wait, and one PATCH counts them all (a forced check still wakes it).
            await sleep_until(memo.wakeup, stopped, wait)
            continue
        if patch:
            if count_only:
                count_patched_at = time.monotonic()
            try:
                await rt.run(rt.kube.patch_status, PLURAL, body.metadata.namespace, body.metadata.name, patch)
            except KUBE_ERRORS as e:  # the API server is down: try again soon, not in 5 minutes
                status_not_written(f"VaultProfile {key}", e, logger)
                await sleep_until(memo.wakeup, stopped, STATUS_RETRY_SECONDS)
                continue
            FAILURES.forget(f"VaultProfile {key}")
        await sleep_until(memo.wakeup, stopped, VERIFY_SECONDS)
    rt.profile_wakeups.pop(key, None)


def credentials_changed(change: SecretChange) -> None:
    """A credential Secret changed (rotated): rebuild the backends using it and re-check them."""
    rt = runtime()
    for key in rt.profiles.profiles_using_secret(change.namespace, change.name):
        rt.profiles.drop_backend(key)
        rt.force_profile_check(key)
        for owner in rt.profile_users.get(key, set()):
            rt.force_sync(owner)
