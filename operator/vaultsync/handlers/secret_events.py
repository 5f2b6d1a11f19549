"""Routes the Secret watch's changes (``sync.secret_watch``) to the three things they can mean:
drift of a target, a changed source, rotated credentials.

The watch runs in threads of its own; a change is checked there against what the operator tracks
(cheap lookups under locks) and only the ones that matter are handed to the event loop, where
the scheduler and the profile checks live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vaultsync.backends.interface import MANAGED_BY_VALUE
from vaultsync.handlers.managedsecret import source_secret_changed, target_secret_changed
from vaultsync.handlers.runtime import Runtime
from vaultsync.handlers.vaultprofile import credentials_changed
from vaultsync.sync.k8s_targets import MANAGED_LABEL
from vaultsync.sync.secret_watch import SecretChange, SecretWatch


def _consumers(rt: Runtime, change: SecretChange) -> list[Callable[[SecretChange], None]]:
    """What the change means: none, or some of drift of a target, a changed source, rotated credentials."""
    consumers: list[Callable[[SecretChange], None]] = []
    if change.labels.get(MANAGED_LABEL) == MANAGED_BY_VALUE:
        consumers.append(target_secret_changed)
    if rt.is_source(change.namespace, change.name):
        consumers.append(source_secret_changed)
    if rt.profiles.profiles_using_secret(change.namespace, change.name):
        consumers.append(credentials_changed)
    return consumers


def _route(rt: Runtime, change: SecretChange) -> None:
    for consumer in _consumers(rt, change):
        consumer(change)


def secret_watch(rt: Runtime, loop: asyncio.AbstractEventLoop) -> SecretWatch:
    """The watch of every Secret in the operator's namespaces (not started)."""

    def deliver(change: SecretChange) -> None:
        if _consumers(rt, change):
            loop.call_soon_threadsafe(_route, rt, change)

    return SecretWatch(rt.kube.http, rt.settings.watch_namespaces, deliver, rt.engine.secret_names.owners)
