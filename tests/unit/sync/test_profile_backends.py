"""One live backend per VaultProfile, even when two callers build it at the same moment.

The profile's permission check and a ManagedSecret's first sync resolve the same profile in two
worker threads. When both built a backend, the later one replaced (and closed) the earlier,
while the ManagedSecret kept polling through the closed one: its change checks were invisible
to the metrics and blind to later profile changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from vaultsync.api.common import ProfileRef
from vaultsync.reconcile.targets import ProfileKey
from vaultsync.sync import profiles as profiles_module
from vaultsync.sync.profiles import ProfileResolver
from vaultsync.sync.settings import OperatorSettings

PROFILE = {
    "metadata": {"namespace": "vaultsync-system", "name": "env", "uid": "u-1", "generation": 1},
    "spec": {"provider": {"env": {"prefix": "SECRET_"}}},
}


class _NoSecrets:
    """The part of KubeApi a profile without credential Secrets touches (an organisation ``env`` one)."""

    http = None

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str]:
        raise AssertionError("an env profile reads no credential Secret")


@pytest.fixture
def slow_builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Makes every backend build take long enough for two callers to overlap."""
    built: list[Any] = []
    real = profiles_module.create_backend

    def create_backend(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        backend = real(*args, **kwargs)
        built.append(backend)
        return backend

    monkeypatch.setattr(profiles_module, "create_backend", create_backend)
    return built


def _resolver() -> ProfileResolver:
    return ProfileResolver(_NoSecrets(), OperatorSettings(environ={}), guard=None)  # type: ignore[arg-type]


def test_concurrent_builds_share_one_backend(slow_builds: list[Any]) -> None:
    resolver = _resolver()
    resolver.remember(PROFILE)
    key = ProfileKey("vaultsync-system", "env")
    got: list[Any] = []

    def resolve() -> None:
        got.append(resolver.resolve("vaultsync-system", ProfileRef(name="env")))

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slow_builds) == 1, "one build for four callers"
    assert {id(r.backend) for r in got} == {id(slow_builds[0])}
    assert all(resolver.is_current(r) for r in got)
    assert [name for name, _, _ in resolver.call_counts()] == [str(key)]


def test_a_replaced_backend_is_no_longer_current(slow_builds: list[Any]) -> None:
    resolver = _resolver()
    resolver.remember(PROFILE)
    first = resolver.resolve("vaultsync-system", ProfileRef(name="env"))
    changed = {**PROFILE, "metadata": {**PROFILE["metadata"], "generation": 2}}
    resolver.remember(changed)
    second = resolver.resolve("vaultsync-system", ProfileRef(name="env"))

    assert second.backend is not first.backend
    assert not resolver.is_current(first), "a ManagedSecret holding the old backend must resolve again"
    assert resolver.is_current(second)
    resolver.drop_backend(ProfileKey("vaultsync-system", "env"))
    assert not resolver.is_current(second), "rotated credentials: resolve again"
