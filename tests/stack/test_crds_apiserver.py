"""The committed CRDs on a real kube-apiserver: they install, accept good specs, reject bad ones.

Every rejection is asserted on a substring a person can act on, because the CEL messages and
schema bounds are the product's first line of user feedback.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vaultsync.api.kinds import KINDS
from vaultsync.devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

CRDS_DIR = Path(__file__).resolve().parents[2] / "crds"
Body = dict[str, Any]


@pytest.fixture(scope="module")
def crds_installed(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "-f", str(CRDS_DIR))
    assert applied.returncode == 0, applied.stderr
    names = [f"crd/{kind.crd_name}" for kind in KINDS]
    established = kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    assert established.returncode == 0, established.stderr


@pytest.fixture(scope="module")
def namespace(kube: KubeControlPlane, crds_installed: None) -> Iterator[str]:
    name = f"crds-{uuid.uuid4().hex[:8]}"
    created = kube.kubectl("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false")


def _apply(kube: KubeControlPlane, namespace: str, body: Body) -> tuple[int, str]:
    result = kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(body))
    return result.returncode, result.stdout + result.stderr


def _vault_profile(name: str = "vault", **provider: Any) -> Body:
    return {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "VaultProfile",
        "metadata": {"name": name},
        "spec": {
            "provider": provider
            or {
                "hashicorp": {
                    "address": "https://vault.example.com:8200",
                    "auth": {"token": {"secretRef": {"name": "vault-token", "key": "token"}}},
                }
            },
        },
    }


def _with(base: Body, change: Callable[[Body], None]) -> Body:
    body = copy.deepcopy(base)
    change(body)
    return body


def _set(path: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


VALID = {
    "vp-hashicorp-token": _vault_profile("hashicorp-token"),
    "vp-hashicorp-approle": _vault_profile(
        "hashicorp-approle",
        hashicorp={
            "address": "http://127.0.0.1:8200",
            "mount": "kv",
            "kvVersion": 1,
            "auth": {"appRole": {"roleId": "role-id", "secretRef": {"name": "approle", "key": "secret-id"}}},
        },
    ),
    "vp-aws-web-identity": _vault_profile(
        "aws",
        aws={
            "region": "eu-west-1",
            "auth": {"webIdentity": {"roleArn": "arn:aws:iam::123456789012:role/vaultsync"}},
        },
    ),
    "vp-azure-emulator": _vault_profile(
        "azure",
        azure={
            "vaultUrl": "https://127.0.0.1:8443",
            "disableChallengeResourceVerification": True,
            "auth": {
                "clientSecret": {
                    "tenantId": "tenant",
                    "clientId": "client",
                    "secretRef": {"name": "azure", "key": "clientSecret"},
                }
            },
        },
    ),
    "vp-env-with-policies": _with(
        _vault_profile("env", env={}),
        _set(
            "spec.approval",
            {"operations": ["Update", "Delete"], "requiredApprovals": 2, "approvers": {"groups": ["security"]}},
        ),
    ),
}

HASHICORP = _vault_profile("bad")
REJECTED = {
    "vp-two-providers": (
        _with(HASHICORP, _set("spec.provider.env", {})),
        "spec.provider must set exactly one of: hashicorp, aws, azure, kubernetes, env",
    ),
    "vp-no-provider": (
        _with(HASHICORP, _set("spec.provider", {})),
        "spec.provider must set exactly one of",
    ),
    "vp-two-auth-methods": (
        _with(HASHICORP, _set("spec.provider.hashicorp.auth.kubernetes", {"role": "vaultsync"})),
        "spec.provider.hashicorp.auth must set exactly one of: token, appRole, kubernetes",
    ),
    "vp-inline-credential": (
        _with(HASHICORP, _set("spec.provider.hashicorp.auth.token.value", "s.not-a-real-token")),
        'unknown field "spec.provider.hashicorp.auth.token.value"',
    ),
    "vp-required-approvals-zero": (
        _with(
            HASHICORP,
            _set(
                "spec.approval",
                {"operations": ["Create"], "requiredApprovals": 0, "approvers": {"users": ["alice"]}},
            ),
        ),
        "spec.approval.requiredApprovals: Invalid value: 0: spec.approval.requiredApprovals in body should be "
        "greater than or equal to 1",
    ),
    "vp-no-approvers": (
        _with(HASHICORP, _set("spec.approval", {"operations": ["Create"], "approvers": {}})),
        "spec.approval.approvers must name at least one user or group",
    ),
    "vp-bad-refresh-interval": (
        _with(HASHICORP, _set("spec.refreshInterval", "five minutes")),
        "spec.refreshInterval",
    ),
}


@pytest.mark.parametrize("body", VALID.values(), ids=VALID.keys())
def test_valid_resources_are_accepted(kube: KubeControlPlane, namespace: str, body: Body) -> None:
    code, output = _apply(kube, namespace, body)
    assert code == 0, output


@pytest.mark.parametrize(("body", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_invalid_resources_are_rejected_with_a_clear_message(
    kube: KubeControlPlane, namespace: str, body: Body, message: str
) -> None:
    code, output = _apply(kube, namespace, body)
    assert code != 0, f"the apiserver accepted an invalid {body['kind']}"
    assert message in output
    assert "s.not-a-real-token" not in output


def test_short_names_and_category_resolve(kube: KubeControlPlane, namespace: str) -> None:
    for short_name in ("vp",):
        listed = kube.kubectl("get", short_name, "-n", namespace)
        assert listed.returncode == 0, listed.stderr
    listed = kube.kubectl("get", "vaultsync", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
