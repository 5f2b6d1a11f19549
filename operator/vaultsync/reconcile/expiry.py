"""``status.expiresAt`` and the ``ExpiringSoon`` condition: warn before content expires.

Pure. The expiry is the earliest of ``spec.expiresAt`` and what the content says (a
certificate's notAfter). The condition turns True inside the warning horizon (reason
``ExpiringSoon``) and stays True once expired (reason ``Expired``); a Warning event is due
each time it turns True or its reason moves to ``Expired``. Messages name absolute times only,
so a steady state writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vaultsync.api.codec import status_time
from vaultsync.reconcile.conditions import FALSE, TRUE, set_condition
from vaultsync.reconcile.rotation import parse_time

CONDITION = "ExpiringSoon"


class ExpiryReason(StrEnum):
    NO_EXPIRY = "NoExpiry"
    NOT_EXPIRING_SOON = "NotExpiringSoon"
    EXPIRING_SOON = "ExpiringSoon"
    EXPIRED = "Expired"


@dataclass(frozen=True)
class ExpiryState:
    status: str
    reason: ExpiryReason
    message: str


def effective_expiry(*candidates: datetime | None) -> datetime | None:
    known = [c for c in candidates if c is not None]
    return min(known) if known else None


def expiry_state(expires_at: datetime | None, now: datetime, horizon: timedelta) -> ExpiryState:
    if expires_at is None:
        return ExpiryState(FALSE, ExpiryReason.NO_EXPIRY, "the content has no expiry date")
    when = status_time(expires_at)
    if expires_at <= now:
        return ExpiryState(TRUE, ExpiryReason.EXPIRED, f"the content expired at {when}")
    days = horizon.total_seconds() / 86400
    if expires_at - now <= horizon:
        return ExpiryState(
            TRUE,
            ExpiryReason.EXPIRING_SOON,
            f"the content expires at {when}, within the {days:g}-day warning horizon",
        )
    return ExpiryState(FALSE, ExpiryReason.NOT_EXPIRING_SOON, f"the content expires at {when}")


def seconds_until_expiry_change(
    expires_at: datetime | None, now: datetime, horizon: timedelta
) -> float | None:
    """Seconds until the condition would change on its own (crossing the horizon, then expiring)."""
    if expires_at is None:
        return None
    for moment in (expires_at - horizon, expires_at):
        if moment > now:
            return (moment - now).total_seconds()
    return None


def apply_expiry(
    status: Mapping[str, Any], spec_expires_at: datetime | None, now: datetime, horizon: timedelta
) -> tuple[dict[str, Any], str | None]:
    """The status with ``expiresAt`` and ``ExpiringSoon`` set, and the Warning message when one is due.

    ``status.expiresAt`` arrives holding what the content says; ``spec.expiresAt`` may be earlier.
    """
    result = dict(status)
    expires_at = effective_expiry(parse_time(status.get("expiresAt")), spec_expires_at)
    if expires_at is None:
        result.pop("expiresAt", None)
    else:
        result["expiresAt"] = status_time(expires_at)
    state = expiry_state(expires_at, now, horizon)
    conditions = list(status.get("conditions") or [])
    before = next((c for c in conditions if c.get("type") == CONDITION), None)
    result["conditions"] = set_condition(
        conditions, CONDITION, state.status, state.reason, state.message, now=status_time(now)
    )
    warn = state.status == TRUE and (
        before is None or before.get("status") != TRUE or before.get("reason") != state.reason
    )
    return result, state.message if warn else None
