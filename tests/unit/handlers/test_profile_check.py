"""A VaultProfile's own status says when its spec does not fit the operator's model, naming the
field: the check reads the typed spec, as the syncs do."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from vaultsync.handlers import runtime as runtime_module
from vaultsync.handlers.vaultprofile import _check
from vaultsync.sync.profiles import ProfileResolver
from vaultsync.sync.settings import OperatorSettings

LEAKY = "s3cr3t-looking-value"


class _NoKube:
    http = None

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str]:
        raise AssertionError("an env profile reads no credential Secret")


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> ProfileResolver:
    profiles = ProfileResolver(_NoKube(), OperatorSettings(environ={}), guard=None)  # type: ignore[arg-type]
    monkeypatch.setattr(runtime_module, "RUNTIME", SimpleNamespace(profiles=profiles))
    return profiles


def _body(**spec: Any) -> dict[str, Any]:
    meta = {"namespace": "vaultsync-system", "name": "env", "uid": "u-1", "generation": 3}
    return {"metadata": meta, "spec": {"provider": {"env": {}}, **spec}}


def _conditions(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_a_fitting_profile_is_ready() -> None:
    status = _check(_body())
    ready = _conditions(status)["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "Connected", "connected to env")
    assert status["provider"] == "env"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"rateLimit": {"qps": LEAKY}}, "spec.rateLimit.qps"),
        ({"provider": {"env": {}, "kubernetes": {}}}, "spec.provider"),
        ({"refreshInterval": 30}, "spec.refreshInterval"),
    ],
    ids=["qps", "two-providers", "refresh-interval"],
)
def test_an_unfit_spec_is_not_ready_naming_the_field(spec: dict[str, Any], field: str) -> None:
    status = _check(_body(**spec))
    conditions = _conditions(status)
    ready, permissions = conditions["Ready"], conditions["PermissionsVerified"]
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("False", "InvalidSpec", 3)
    assert f"model at {field}: " in ready["message"]
    assert permissions["status"] == "Unknown"
    assert status["observedGeneration"] == 3
    assert "provider" not in status, "no provider is known"
    assert LEAKY not in repr(status)
