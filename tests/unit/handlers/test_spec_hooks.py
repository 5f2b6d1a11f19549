"""The scheduler's hooks read the spec its sync parsed; a spec the model does not fit sets no timer,
so it syncs again only when its generation (or the refresh annotation) moves, never in a loop."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

from typed_spec import MINIMAL
from vaultsync.handlers import managedsecret
from vaultsync.handlers import runtime as runtime_module
from vaultsync.sync.settings import OperatorSettings
from vaultsync.sync.spec_cache import SpecCache
from vaultsync.sync.sync_run import SyncResult

UNFIT = {"syncTargets": [{"vaultProfile": {"name": "copy"}}]}
"""A sync target without a path: an older CRD allowed it, the model does not."""


def _body(generation: int = 1, **spec: Any) -> dict[str, Any]:
    metadata = {"namespace": "ns", "name": "s", "uid": "u-1", "generation": generation}
    return {"metadata": metadata, "spec": {**MINIMAL, **spec}}


@pytest.fixture(autouse=True)
def specs(monkeypatch: pytest.MonkeyPatch) -> SpecCache:
    cache = SpecCache()
    fake = SimpleNamespace(settings=OperatorSettings(environ={}), engine=SimpleNamespace(specs=cache))
    monkeypatch.setattr(runtime_module, "RUNTIME", fake)
    return cache


def test_the_refresh_interval_comes_from_the_parsed_spec() -> None:
    assert managedsecret.interval(_body(refreshInterval="7m"), SyncResult({})) == 420
    unset = _body(generation=2)
    assert managedsecret.interval(unset, SyncResult({})) == OperatorSettings().default_refresh_seconds


def test_rotation_wakes_a_generated_secret_from_the_parsed_spec() -> None:
    body = _body(generate={"kind": "password", "rotationInterval": "1h"})
    status = {"lastRotatedAt": "2020-01-01T00:00:00Z"}
    assert managedsecret.lifecycle_wait(body, status) <= 0, "long overdue: at once"
    assert managedsecret.lifecycle_wait(_body(generation=2), {}) == math.inf


def test_an_unfit_spec_sets_no_refresh_and_no_lifecycle_timer(specs: SpecCache) -> None:
    body = _body(**UNFIT)
    assert managedsecret.interval(body, SyncResult({})) == math.inf
    assert managedsecret.lifecycle_wait(body, {"phase": "Failed"}) == math.inf
    assert len(specs) == 1, "both hooks asked the cache: the spec was parsed once"
