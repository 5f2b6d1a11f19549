"""Secret paths as users write them (``team/app/db``), checked once for every backend.

A path is one or more ``/``-separated segments; empty, ``.`` and ``..`` segments are refused so
a path can never climb out of a profile's ``pathPrefix``.
"""

from __future__ import annotations

from vaultsync.backends.errors import InvalidConfig


def check_path(path: str) -> str:
    """``path`` without surrounding slashes, or :class:`InvalidConfig` naming the problem."""
    trimmed = path.strip("/")
    if not trimmed:
        raise InvalidConfig("path: must not be empty")
    for segment in trimmed.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidConfig("path: empty, '.' and '..' segments are not allowed")
    return trimmed


def join_path(prefix: str, path: str) -> str:
    """``prefix/path`` with a checked ``path``; an empty prefix or path contributes nothing."""
    prefix = prefix.strip("/")
    path = path.strip("/")
    if path:
        path = check_path(path)
    return "/".join(part for part in (prefix, path) if part)
