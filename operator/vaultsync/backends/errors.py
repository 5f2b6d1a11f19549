"""The one error tree every backend raises, so callers never see an SDK exception.

Each backend translates its SDK's exceptions at the edge with ``raise ... from e``.
Messages are short, name the operation and the path, and never contain a secret value
or a raw provider payload (provider text can echo request bodies).

    BackendError
    ├── NotFound            the path does not exist (or is soft-deleted)
    ├── NotOwned            the remote secret lacks vaultsync's ownership mark (or has another owner)
    ├── Conflict            the expected version did not match (compare-and-set lost)
    ├── PermissionDenied    the credentials lack a permission; ``missing`` names it in the vault's words
    ├── Throttled           the vault asked us to slow down; ``retry_after`` seconds if it said
    ├── Unavailable         the vault could not be reached or failed on its side; safe to retry later
    └── InvalidConfig       the profile or the request can never work as written (no retry helps)
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_MESSAGE_LENGTH = 300


def bounded(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Cut ``text`` to ``limit`` characters so a message never grows without bound."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BackendError(Exception):
    """Base of every error a backend raises."""

    def __init__(self, message: str) -> None:
        super().__init__(bounded(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotFound(BackendError):
    """The path does not exist in the vault (or is deleted and only restorable)."""


class NotOwned(BackendError):
    """The remote secret exists but is not marked as managed by this owner."""

    def __init__(self, message: str, *, current_owner: str | None = None) -> None:
        super().__init__(message)
        self.current_owner = current_owner


class Conflict(BackendError):
    """A compare-and-set failed: the remote version is not the expected one."""


class PermissionDenied(BackendError):
    """The credentials lack a permission; ``missing`` holds the vault's own names for it."""

    def __init__(self, message: str, *, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


class Throttled(BackendError):
    """The vault rate-limited us; ``retry_after`` is its hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(BackendError):
    """The vault is unreachable, timed out or failed server-side."""


class InvalidConfig(BackendError):
    """The profile or the request cannot work as written (retrying will not help)."""
