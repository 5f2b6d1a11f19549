"""kopf glue for ApprovalRequests: a decision wakes its ManagedSecret; a gated delete waits.

The decisions themselves are checked by the admission webhooks (``handlers.webhook``); the
lifecycle is decided by ``approvals.lifecycle`` inside each sync (``handlers.approvals``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import kopf

from vaultsync.api.approvalrequest import ApprovalPhase
from vaultsync.api.codec import status_time
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.api.names import GROUP, VERSION
from vaultsync.api.policy import ApprovalPolicy as ApprovalSpec
from vaultsync.approvals.lifecycle import parse_time
from vaultsync.approvals.policy import ApprovalPolicy
from vaultsync.handlers.runtime import runtime
from vaultsync.reconcile.conditions import status_patch
from vaultsync.reconcile.status import Phase
from vaultsync.reconcile.targets import ProfileKey
from vaultsync.sync.approvals import GateResult, policy_of, profile_refs
from vaultsync.sync.finalizing import RetryLater
from vaultsync.sync.profiles import ProfileResolver, ProfileSpecUnfit

PENDING_DELETE_RETRY_SECONDS = 3
PROFILE_UNFIT_RETRY_SECONDS = 60


def policy_for_secret(namespace: str, spec: ManagedSecretSpec) -> ApprovalPolicy:
    """The combined approval policy of a ManagedSecret's profiles (blocking: may read profiles).

    Raises :class:`ProfileSpecUnfit` when a profile's spec does not fit the model: its policy
    cannot be known, and guessing "none" would let a gated change through."""
    profiles = runtime().profiles
    keys = profile_refs(namespace, spec)
    return policy_of([(key, _approval_of(profiles, key)) for key in keys])


def _approval_of(profiles: ProfileResolver, key: ProfileKey) -> ApprovalSpec | None:
    body = profiles.body(key)
    return profiles.spec(body).approval if body is not None else None


_EXPIRY_WAKEUPS: dict[str, asyncio.TimerHandle] = {}
"""Request ``namespace/name`` -> the wake-up of its ManagedSecret at ``expiresAt``."""


@kopf.on.event(GROUP, VERSION, "approvalrequests")
async def decision_made(body: kopf.Body, type: str | None, **_: Any) -> None:
    """Any change of a request (a decision, mostly) re-evaluates its ManagedSecret at once,
    and a pending request wakes it again when it expires, so it reads Expired in time."""
    managed_secret = body.spec.get("managedSecret")
    if not managed_secret:
        return
    owner = f"{body.metadata.namespace}/{managed_secret}"
    runtime().force_sync(owner)
    key = f"{body.metadata.namespace}/{body.metadata.name}"
    previous = _EXPIRY_WAKEUPS.pop(key, None)
    if previous is not None:
        previous.cancel()
    expires_at = parse_time(body.spec.get("expiresAt"))
    pending = (body.get("status") or {}).get("phase") in (None, ApprovalPhase.PENDING)
    if type != "DELETED" and pending and expires_at is not None:
        delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 1
        _EXPIRY_WAKEUPS[key] = asyncio.get_running_loop().call_later(delay, runtime().force_sync, owner)


async def hold_gated_delete(body: dict[str, Any], spec: ManagedSecretSpec) -> None:
    """Returns when the delete may go ahead; raises a retry for later while it waits or was rejected."""
    rt = runtime()
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]

    def gate() -> GateResult:
        policy = policy_for_secret(namespace, spec)
        return rt.engine.approvals.delete_gate(dict(body), policy, status_time())

    try:
        result = await rt.run(gate)
    except ProfileSpecUnfit as e:
        raise RetryLater(f"deletion waits: {e.message}", PROFILE_UNFIT_RETRY_SECONDS) from e
    for kind, reason, message in result.events:
        rt.events.post(body, kind, reason, message)
    if result.held_status is None:
        return
    patch = status_patch(dict(body.get("status") or {}), result.held_status)
    if patch:
        await rt.run(rt.kube.patch_status, "managedsecrets", namespace, name, patch)
    rejected = result.held_status.get("phase") == Phase.REJECTED
    message = next(
        (c.get("message") for c in result.held_status.get("conditions") or [] if c.get("type") == "Ready"),
        "deletion waits for approval",
    )
    delay = rt.settings.rejected_delete_retry_seconds if rejected else PENDING_DELETE_RETRY_SECONDS
    raise RetryLater(str(message), delay)
