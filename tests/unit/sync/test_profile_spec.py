"""VaultProfile specs are parsed into the typed model once per generation, and a spec the model
does not fit is refused naming the field, never the value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest.mock import Mock

import pytest

from vaultsync.api.codec import ModelError
from vaultsync.api.common import Operation, ProfileRef
from vaultsync.api.policy import Enforcement
from vaultsync.api.providers import ProviderKind
from vaultsync.reconcile.status import Reason
from vaultsync.sync import profile_spec
from vaultsync.sync.limits import Limit
from vaultsync.sync.profile_spec import ProfileSpecs, parse_profile_spec, path_prefix, rate_limit_of
from vaultsync.sync.profiles import ProfileResolver, ProfileSpecUnfit, provider_of
from vaultsync.sync.settings import OperatorSettings

HASHICORP = {
    "address": "https://bao.example:8200",
    "pathPrefix": "teams/payments",
    "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
}
FULL = {
    "provider": {"hashicorp": HASHICORP},
    "refreshInterval": "5m",
    "rateLimit": {"qps": 2, "burst": 4},
    "approval": {"operations": ["Delete", "ChangeSource"], "approvers": {"groups": ["security"]}},
    "compliance": {"enforcement": "Enforce", "rules": {"minLength": 20}},
}
ENV = {"provider": {"env": {"prefix": "SECRET_"}}}
LEAKY = "s3cr3t-looking-value"


def _body(spec: Mapping[str, Any], generation: int = 1, name: str = "vault") -> dict[str, Any]:
    meta = {"namespace": "vaultsync-system", "name": name, "uid": f"uid-{name}", "generation": generation}
    return {"metadata": meta, "spec": dict(spec)}


def test_a_full_spec_is_read_as_typed_fields() -> None:
    spec = parse_profile_spec(_body(FULL))
    assert spec.provider.kind is ProviderKind.HASHICORP
    assert spec.refresh_interval == "5m"
    assert rate_limit_of(spec) == Limit(2.0, 4)
    assert path_prefix(spec) == "teams/payments"
    assert spec.approval is not None
    assert spec.approval.operations == (
        Operation.DELETE,
        Operation.CHANGE_SOURCE,
    )
    assert spec.compliance is not None
    assert spec.compliance.enforcement is Enforcement.ENFORCE


def test_unset_fields_take_the_defaults_of_the_api() -> None:
    spec = parse_profile_spec(_body({**ENV, "rateLimit": {}}))
    assert spec.refresh_interval == "1h"
    assert rate_limit_of(spec) == Limit(10.0, 20)
    assert rate_limit_of(parse_profile_spec(_body(ENV))) is None
    assert path_prefix(spec) == ""
    assert (spec.approval, spec.compliance) == (None, None)


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({}, "spec.provider"),
        ({"provider": {}}, "spec.provider"),
        ({"provider": {"env": {}, "kubernetes": {}}}, "spec.provider"),
        ({**ENV, "rateLimit": {"qps": LEAKY}}, "spec.rateLimit.qps"),
        ({"provider": {"hashicorp": {**HASHICORP, "address": None}}}, "spec.provider.hashicorp.address"),
        ({**ENV, "approval": {"operations": ["Delete"]}}, "spec.approval.approvers"),
        ({**ENV, "compliance": {"enforcement": LEAKY, "rules": {}}}, "spec.compliance.enforcement"),
    ],
    ids=["no-provider", "empty-provider", "two-providers", "qps", "address", "approvers", "enforcement"],
)
def test_a_spec_the_model_does_not_fit_names_the_field(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(ModelError) as caught:
        parse_profile_spec(_body(spec))
    assert caught.value.path == path
    assert LEAKY not in str(caught.value)


def test_a_spec_is_parsed_once_per_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Mock(wraps=profile_spec.parse_profile_spec)
    monkeypatch.setattr(profile_spec, "parse_profile_spec", spy)
    specs = ProfileSpecs()
    first = specs.parse(_body(ENV))
    assert specs.parse(_body(ENV)) is first
    unfit = _body({**ENV, "rateLimit": {"burst": "many"}}, generation=2)
    for _ in range(2):
        with pytest.raises(ModelError, match=r"spec\.rateLimit\.burst"):
            specs.parse(unfit)
    generations = [call.args[0]["metadata"]["generation"] for call in spy.call_args_list]
    assert generations == [1, 2], "each generation parsed once, an unfit one included"


class _NoKube:
    """A resolver's API client that nothing may call: these profiles are remembered bodies."""

    http = None

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str]:
        raise AssertionError("no credential Secret is read")

    def get_object(self, *args: Any) -> Any:
        raise AssertionError("remembered profiles need no GET")


def _resolver() -> ProfileResolver:
    return ProfileResolver(_NoKube(), OperatorSettings(environ={}), guard=None)  # type: ignore[arg-type]


def test_a_resolved_profile_carries_the_typed_spec() -> None:
    resolver = _resolver()
    resolver.remember(
        _body(
            {**ENV, "refreshInterval": "10m", "approval": FULL["approval"], "compliance": FULL["compliance"]}
        )
    )
    profile = resolver.resolve("vaultsync-system", ProfileRef(name="vault"))
    assert profile.provider_key == "env"
    assert profile.refresh_interval == "10m"
    assert profile.approval is not None
    assert Operation.DELETE in profile.approval.operations
    assert profile.compliance is not None
    assert profile.compliance.rules.min_length == 20
    assert profile.spec is resolver.spec(profile.body), "the resolver's parse, not a second one"


def test_an_unfit_profile_is_refused_naming_the_field_and_never_the_value() -> None:
    resolver = _resolver()
    resolver.remember(_body({**ENV, "rateLimit": {"qps": LEAKY}}))
    with pytest.raises(ProfileSpecUnfit) as caught:
        resolver.resolve("vaultsync-system", ProfileRef(name="vault"))
    error = caught.value
    assert (error.reason, error.path) == (Reason.PROFILE_NOT_READY, "spec.rateLimit.qps")
    assert "VaultProfile vaultsync-system/vault" in error.message
    assert "spec.rateLimit.qps: expected a number" in error.message
    assert LEAKY not in error.message + repr(error.args)
    assert resolver.call_counts() == [], "no backend was built for it"


def test_provider_of_gives_the_kind_and_the_raw_fields_the_backend_takes() -> None:
    assert provider_of(_body(FULL)) == ("hashicorp", HASHICORP)
    with pytest.raises(ProfileSpecUnfit, match=r"at spec\.provider: must name exactly one provider"):
        provider_of(_body({"provider": {"env": {}, "kubernetes": {}}}))
