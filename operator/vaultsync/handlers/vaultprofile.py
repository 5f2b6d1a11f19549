"""kopf glue for VaultProfile: connectivity and permission checks, reported as conditions."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import kopf

from vaultsync.backends.errors import BackendError
from vaultsync.handlers.profiles import ProfileError, provider_of
from vaultsync.handlers.runtime import runtime
from vaultsync.reconcile.conditions import FALSE, TRUE, set_condition, status_patch
from vaultsync.reconcile.targets import ProfileKey

GROUP, VERSION, PLURAL = "vaultsync.io", "v1alpha1", "vaultprofiles"


@kopf.on.event(GROUP, VERSION, PLURAL)
def remember(body: kopf.Body, type: str | None, memo: kopf.Memo, **_: Any) -> None:
    key = ProfileKey(str(body.metadata.namespace), str(body.metadata.name))
    if type == "DELETED":
        runtime().profiles.forget(key)
        return
    runtime().profiles.remember(dict(body))
    if memo.get("wakeup") is not None and memo.get("generation") != body.metadata.get("generation"):
        memo.wakeup.set()


def _check(body: dict[str, Any]) -> dict[str, Any]:
    rt = runtime()
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    status = dict(body.get("status") or {})
    conditions = list(status.get("conditions") or [])
    generation = body["metadata"].get("generation")
    key = ProfileKey(body["metadata"]["namespace"], body["metadata"]["name"])
    try:
        provider_key, spec = provider_of(body)
        backend = rt.profiles.backend(key, body, provider_key, spec)
        report = backend.verify_permissions(spec.get("pathPrefix") or "")
    except (ProfileError, BackendError) as e:
        message = getattr(e, "message", None) or str(e)
        conditions = set_condition(
            conditions, "Ready", FALSE, "ConnectionFailed", message, now=now, generation=generation
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
    stopped: kopf.DaemonStopped, memo: kopf.Memo, body: kopf.Body, spec: kopf.Spec, **_: Any
) -> None:
    rt = runtime()
    memo.wakeup = asyncio.Event()
    while not stopped:
        memo.wakeup.clear()
        memo.generation = body.metadata.get("generation")
        status = await rt.run(_check, dict(body))
        patch = status_patch(dict(body.get("status") or {}), status)
        if patch:
            await rt.run(rt.kube.patch_status, PLURAL, body.metadata.namespace, body.metadata.name, patch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(memo.wakeup.wait(), timeout=max(rt.settings.min_refresh_seconds, 300.0))
