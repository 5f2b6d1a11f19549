"""VaultProfile specs parsed into ``VaultProfileSpec`` once per generation.

The sync path reads a profile's policies, refresh interval, rate limit and provider kind from
the typed model. The provider's own fields stay a mapping for the backends: each backend's
``from_spec`` validates them and names what is wrong in its own terms (``InvalidConfig``), and
``sync.credentials`` reads the Secret references from that same mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaultsync.api.codec import ModelError
from vaultsync.api.providers import ProviderKind
from vaultsync.api.vaultprofile import VaultProfileSpec
from vaultsync.sync.limits import Limit
from vaultsync.sync.spec_cache import DEFAULT_SIZE, ParsedSpecs


def parse_profile_spec(body: Mapping[str, Any]) -> VaultProfileSpec:
    """The typed spec of a VaultProfile body; :class:`ModelError` names the field.

    The codec does not run the CRD's CEL rules, so the provider one-of is checked here: the
    sync needs exactly one provider even where an older CRD let a spec in without it.
    """
    spec = VaultProfileSpec.from_dict(body.get("spec") or {}, path="spec")
    named = [kind for kind in ProviderKind if getattr(spec.provider, kind.value) is not None]
    if len(named) != 1:
        kinds = ", ".join(kind.value for kind in ProviderKind)
        raise ModelError("spec.provider", f"must name exactly one provider ({kinds})")
    return spec


class ProfileSpecs(ParsedSpecs[VaultProfileSpec]):
    """VaultProfile specs parsed once per generation."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        super().__init__(parse_profile_spec, size)


def provider_fields(body: Mapping[str, Any], spec: VaultProfileSpec) -> Mapping[str, Any]:
    """The raw fields of the provider ``spec`` names, as the backends and credential refs take them."""
    fields: Mapping[str, Any] = ((body.get("spec") or {}).get("provider") or {}).get(spec.provider.kind) or {}
    return fields


def path_prefix(spec: VaultProfileSpec) -> str:
    """The prefix every secret path of this profile gets (only HashiCorp profiles have one)."""
    hashicorp = spec.provider.hashicorp
    return (hashicorp.path_prefix or "") if hashicorp is not None else ""


def rate_limit_of(spec: VaultProfileSpec) -> Limit | None:
    """``spec.rateLimit`` (defaults of the API: 10 qps, burst 20); None when the spec sets none."""
    limit = spec.rate_limit
    return Limit(limit.qps, limit.burst) if limit is not None else None
