"""When a ManagedSecret needs a sync for reasons of time alone: rotation, or expiry moving on.

The daemon skips a sync while the vaults show nothing new; generated content that is due for
rotation, or an ``ExpiringSoon`` condition that no longer tells the truth, must still get one.
Pure: it reads the status and spec the daemon already holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from vaultsync.api.common import parse_duration
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.api.managedsecret_status import Phase
from vaultsync.reconcile.expiry import CONDITION, effective_expiry, expiry_state, seconds_until_expiry_change
from vaultsync.reconcile.rotation import parse_time, rotation_baseline, seconds_until_rotation


def seconds_until_lifecycle_sync(
    status: Mapping[str, Any], spec: ManagedSecretSpec, now: datetime, horizon: timedelta
) -> float | None:
    """Seconds until a sync is due for time alone (0 or less: now); None when time never forces one."""
    waits: list[float] = []
    interval_text = spec.generate.rotation_interval if spec.generate else None
    # A due rotation waits while a change is pending approval; the decision wakes the secret.
    if interval_text and status.get("phase") != Phase.PENDING_APPROVAL:
        rotation = seconds_until_rotation(parse_duration(interval_text), rotation_baseline(status), now)
        if rotation is not None:
            waits.append(rotation)
    if status:
        expires_at = effective_expiry(parse_time(status.get("expiresAt")), spec.expires_at)
        state = expiry_state(expires_at, now, horizon)
        shown = next((c for c in status.get("conditions") or [] if c.get("type") == CONDITION), None)
        if shown is None or (shown.get("status"), shown.get("reason")) != (state.status, state.reason):
            waits.append(0.0)
        else:
            change = seconds_until_expiry_change(expires_at, now, horizon)
            if change is not None:
                waits.append(change)
    return min(waits) if waits else None
