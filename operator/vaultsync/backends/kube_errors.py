"""The one mapping of a Kubernetes API refusal to the backend error tree.

Used by every caller of the API server (the Secret store of ``kube_secrets``, the handlers'
own calls), so a 403 or a 409 means the same everywhere. Messages name what failed and never
the answer's body: an API server echoes request data in some errors.
"""

from __future__ import annotations

from vaultsync.backends import errors
from vaultsync.backends.kube_http import KubeStatusError, KubeUnavailable


def _retry_after(error: KubeStatusError) -> float | None:
    value = (error.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def api_error(error: KubeStatusError, what: str, *, missing: str) -> errors.BackendError:
    """The backend error for an API server answer; ``missing`` names the permission a 401/403 lacks."""
    if isinstance(error, KubeUnavailable):
        return errors.Unavailable(f"{what}: {error.reason}")
    status = error.status or 0
    if status == 404:
        return errors.NotFound(f"{what}: not found")
    if status in (401, 403):
        return errors.PermissionDenied(f"{what}: forbidden", missing=[missing])
    if status == 409:
        return errors.Conflict(f"{what}: resourceVersion is not the expected one")
    if status == 429:
        return errors.Throttled(f"{what}: throttled", retry_after=_retry_after(error))
    if status == 413:
        return errors.InvalidConfig(f"{what}: request too large for the API server (HTTP 413)")
    if status in (400, 422):
        return errors.InvalidConfig(f"{what}: rejected by the API server (HTTP {status})")
    return errors.Unavailable(f"{what}: API server failed (HTTP {status})")
