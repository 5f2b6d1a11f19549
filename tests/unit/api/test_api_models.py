"""Resource bodies parse into the typed models and encode back, with the CRD's defaults."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultsync.api import (
    ApprovalRequestSpec,
    ApprovalRequestStatus,
    DeletionPolicy,
    Enforcement,
    ManagedSecretSpec,
    ManagedSecretStatus,
    Model,
    ModelError,
    Operation,
    ProviderKind,
    SecretState,
    SecretType,
    VaultProfileSpec,
    VaultProfileStatus,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    short_fingerprint,
    status_time,
)
from vaultsync.api.schema import model_fields, unwrap_optional

ROOT_MODELS = [
    VaultProfileSpec,
    VaultProfileStatus,
    ManagedSecretSpec,
    ManagedSecretStatus,
    ApprovalRequestSpec,
    ApprovalRequestStatus,
]


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of a model type, following the type hints (not the schema's patterns)."""
    inner, optional = unwrap_optional(hint)
    base = _strategy_for(inner)
    return st.none() | base if optional else base


def _strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return st.lists(strategy_for(typing.get_args(hint)[0]), max_size=2).map(tuple)
    if origin in (dict, Mapping):
        return st.dictionaries(st.text(max_size=5), strategy_for(typing.get_args(hint)[1]), max_size=2)
    if dataclasses.is_dataclass(hint):
        return st.deferred(lambda: _model_strategy(typing.cast(type[Any], hint)))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8),
        int: st.integers(min_value=-(2**53), max_value=2**53),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        datetime: st.datetimes(timezones=st.just(UTC)),
    }
    return scalars[hint]


@cache
def _model_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Built once per model class (strategies are immutable): the round trip draws it per example."""
    return st.builds(cls, **{field.name: strategy_for(hint) for field, hint in model_fields(cls)})


@pytest.mark.parametrize("cls", ROOT_MODELS, ids=[cls.__name__ for cls in ROOT_MODELS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_to_dict_and_from_dict_round_trip(cls: type[Model], data: st.DataObject) -> None:
    instance = data.draw(_model_strategy(cls))
    body = instance.to_dict()
    assert cls.from_dict(body) == instance
    assert cls.from_dict(body).to_dict() == body


VAULT_PROFILE_SPEC = {
    "provider": {
        "hashicorp": {
            "address": "https://vault.example.com:8200",
            "auth": {"kubernetes": {"role": "vaultsync"}},
        }
    },
    "rateLimit": {"qps": 5},
    "approval": {"operations": ["Update", "ChangeSource"], "approvers": {"groups": ["security"]}},
    "compliance": {"rules": {"minLength": 16, "allowedTypes": ["basic-auth"]}},
}


def test_vault_profile_spec_parses_with_the_crd_defaults() -> None:
    spec = VaultProfileSpec.from_dict(VAULT_PROFILE_SPEC)
    hashicorp = spec.provider.hashicorp
    assert hashicorp is not None
    assert spec.provider.kind is ProviderKind.HASHICORP
    assert (hashicorp.mount, hashicorp.kv_version, hashicorp.tls_skip_verify) == ("secret", 2, False)
    assert hashicorp.auth.kubernetes is not None
    assert hashicorp.auth.kubernetes.mount_path == "kubernetes"
    assert spec.refresh_interval == "1h"
    assert spec.rate_limit is not None
    assert (spec.rate_limit.qps, spec.rate_limit.burst) == (5.0, 20)
    assert spec.approval is not None
    assert spec.approval.operations == (Operation.UPDATE, Operation.CHANGE_SOURCE)
    assert (spec.approval.required_approvals, spec.approval.allow_self_approval) == (1, False)
    assert spec.compliance is not None
    assert spec.compliance.enforcement is Enforcement.AUDIT
    assert spec.compliance.rules.allowed_types == (SecretType.BASIC_AUTH,)


def test_managed_secret_spec_parses_with_the_crd_defaults() -> None:
    spec = ManagedSecretSpec.from_dict(
        {
            "type": "certificate",
            "source": {"vaultProfile": {"name": "org", "namespace": "vaultsync"}, "path": "tls/api"},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": "tls/api"}],
            "kubernetesSecrets": [{"name": "api-tls", "template": {"tls.crt": "{{ secret.certificate }}"}}],
            "expiresAt": "2027-03-01T12:00:00+01:00",
        }
    )
    assert spec.type is SecretType.CERTIFICATE
    assert (spec.source.vault_profile.name, spec.source.vault_profile.namespace) == ("org", "vaultsync")
    assert spec.source.environment == "default"
    assert spec.sync_targets[0].environment is None
    assert spec.kubernetes_secrets[0].template == {"tls.crt": "{{ secret.certificate }}"}
    assert (spec.deletion_policy, spec.state, spec.adopt) == (
        DeletionPolicy.RETAIN,
        SecretState.ACTIVE,
        False,
    )
    assert spec.expires_at == datetime(2027, 3, 1, 11, 0, tzinfo=UTC)


BAD_BODIES = [
    ("missing-required", VaultProfileSpec, {}, "provider: is required"),
    (
        "wrong-scalar",
        ManagedSecretSpec,
        {"type": "generic", "source": {"vaultProfile": {"name": "v"}, "path": 7}},
        "source.path: expected a string",
    ),
    (
        "unknown-enum",
        ManagedSecretSpec,
        {"type": "hunter2", "source": {"vaultProfile": {"name": "v"}, "path": "p"}},
        "type: must be one of basic-auth, api-key",
    ),
    (
        "plain-string-profile",
        ManagedSecretSpec,
        {"type": "generic", "source": {"vaultProfile": "v", "path": "p"}},
        "source.vaultProfile: expected an object",
    ),
    (
        "list-item",
        ManagedSecretSpec,
        {
            "type": "generic",
            "source": {"vaultProfile": {"name": "v"}, "path": "p"},
            "syncTargets": [{"path": "hunter2"}],
        },
        "syncTargets[0].vaultProfile: is required",
    ),
    (
        "bool-is-not-int",
        VaultProfileSpec,
        {"provider": {"env": {}}, "rateLimit": {"burst": True}},
        "rateLimit.burst: expected an integer",
    ),
    (
        "bad-timestamp",
        ManagedSecretSpec,
        {"type": "generic", "source": {"vaultProfile": {"name": "v"}, "path": "p"}, "expiresAt": "hunter2"},
        "expiresAt: expected an RFC 3339 timestamp",
    ),
    (
        "map-value",
        ManagedSecretSpec,
        {
            "type": "generic",
            "source": {"vaultProfile": {"name": "v"}, "path": "p"},
            "kubernetesSecrets": [{"name": "s", "template": {"k": ["hunter2"]}}],
        },
        "kubernetesSecrets[0].template[k]: expected a string",
    ),
]


@pytest.mark.parametrize(
    ("cls", "body", "message"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_bad_bodies_name_the_field_and_never_the_value(
    cls: type[Model], body: dict[str, Any], message: str
) -> None:
    with pytest.raises(ModelError) as raised:
        cls.from_dict(body, path="spec")
    assert f"spec.{message}" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_provider_kind_requires_a_provider() -> None:
    spec = VaultProfileSpec.from_dict({"provider": {}})
    with pytest.raises(ValueError, match="sets no provider"):
        _ = spec.provider.kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90d", timedelta(days=90)),
        ("250ms", timedelta(milliseconds=250)),
    ],
    ids=["seconds", "minutes", "compound", "days", "milliseconds"],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "five minutes", "1.5h", "-1s", "1w"], ids=repr)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="a duration is digits followed by"):
        parse_duration(text)


@settings(max_examples=200)
@given(moment=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])))
def test_timestamps_are_rfc3339_utc(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert text.endswith("Z")
    assert parse_timestamp(text) == moment


def test_status_times_are_whole_seconds_in_utc() -> None:
    moment = datetime(2026, 12, 2, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2)))
    assert status_time(moment) == "2026-12-02T01:04:05Z"
    assert parse_timestamp(status_time()).microsecond == 0


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 1, 1))


def test_short_fingerprint_is_the_start_of_the_hex_digest() -> None:
    assert short_fingerprint("hmac-sha256:" + "0123456789abcdef" * 4) == "0123456789ab"
