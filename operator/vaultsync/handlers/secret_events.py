"""Routes the Secret watch's changes (``sync.secret_watch``) to the three things they can mean:
drift of a target, a changed source, rotated credentials.

The watch runs in threads of its own; a change is checked there against what the operator tracks
(cheap lookups under locks) and only the ones that matter are handed to the event loop, where
the scheduler and the profile checks live.
"""

from __future__ import annotations

import asyncio

from vaultsync.backends.interface import MANAGED_BY_VALUE
from vaultsync.handlers.managedsecret import source_secret_changed, target_secret_changed
from vaultsync.handlers.runtime import Runtime
from vaultsync.handlers.vaultprofile import credentials_changed
from vaultsync.sync.k8s_targets import MANAGED_LABEL
from vaultsync.sync.secret_watch import SecretChange, SecretWatch


def _route(rt: Runtime, change: SecretChange) -> None:
    if change.labels.get(MANAGED_LABEL) == MANAGED_BY_VALUE:
        target_secret_changed(change)
    if rt.is_source(change.namespace, change.name):
        source_secret_changed(change)
    if rt.profiles.profiles_using_secret(change.namespace, change.name):
        credentials_changed(change)


def _matters(rt: Runtime, change: SecretChange) -> bool:
    return (
        change.labels.get(MANAGED_LABEL) == MANAGED_BY_VALUE
        or rt.is_source(change.namespace, change.name)
        or bool(rt.profiles.profiles_using_secret(change.namespace, change.name))
    )


def secret_watch(rt: Runtime, loop: asyncio.AbstractEventLoop) -> SecretWatch:
    """The watch of every Secret in the operator's namespaces (not started)."""

    def deliver(change: SecretChange) -> None:
        if _matters(rt, change):
            loop.call_soon_threadsafe(_route, rt, change)

    return SecretWatch(rt.kube.http, rt.settings.watch_namespaces, deliver, rt.engine.secret_names.owners)
