"""The committed CRDs on a real kube-apiserver: they install, accept good specs, reject bad ones.

Every rejection is asserted on a substring a person can act on, because the CEL messages and
schema bounds are the product's first line of user feedback.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vaultsync.api.kinds import KINDS
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

CRDS_DIR = Path(__file__).resolve().parents[2] / "crds"
Body = dict[str, Any]


@pytest.fixture(scope="module")
def crds_installed(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "-f", str(CRDS_DIR))
    assert applied.returncode == 0, applied.stderr
    established = '{.status.conditions[?(@.type=="Established")].status}'
    deadline = time.monotonic() + 60
    for kind in KINDS:
        while True:
            got = kube.kubectl("get", "crd", kind.crd_name, "-o", f"jsonpath={established}")
            if got.stdout.strip() == "True":
                break
            assert time.monotonic() < deadline, f"{kind.crd_name} never became Established: {got.stderr}"
            time.sleep(0.2)


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


def _managed_secret(name: str = "db", **spec: Any) -> Body:
    return {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "ManagedSecret",
        "metadata": {"name": name},
        "spec": {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "vault"}, "path": "apps/db"},
            **spec,
        },
    }


def _approval_request(name: str = "db-update", **spec: Any) -> Body:
    return {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "ApprovalRequest",
        "metadata": {"name": name},
        "spec": {
            "managedSecret": "db",
            "operation": "Update",
            "fingerprint": "hmac-sha256:" + "ab" * 32,
            **spec,
        },
    }


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
            {
                "operations": ["Update", "Delete"],
                "requiredApprovals": 2,
                "approvers": {"groups": ["security"]},
            },
        ),
    ),
    "ms-minimal": _managed_secret("minimal"),
    "ms-everything": _managed_secret(
        "everything",
        type="certificate",
        syncTargets=[
            {"vaultProfile": {"name": "aws"}, "path": "apps/db"},
            {"vaultProfile": {"name": "vault"}, "path": "apps/db", "environment": "staging"},
            {"vaultProfile": {"name": "org", "namespace": "vaultsync"}, "path": "apps/db"},
        ],
        kubernetesSecrets=[
            {"name": "db-tls", "rolloutRestart": [{"kind": "Deployment", "name": "api"}]},
            {"name": "db-tls", "namespace": "other"},
            {
                "name": "db-bundle",
                "template": {"bundle.pem": "{{ secret.certificate }}{{ SECRETS.ca.certificate }}"},
            },
        ],
        references=["ca"],
        deletionPolicy="Delete",
        expiresAt="2027-01-01T00:00:00Z",
        generate={
            "kind": "selfSignedCertificate",
            "algorithm": "ECDSA",
            "size": 256,
            "subject": {"commonName": "db"},
            "sans": ["db.example.com"],
            "validity": "90d",
        },
    ),
    "ar-with-decision": _approval_request(
        "with-decision",
        summary={"keysChanged": ["password"]},
        decisions=[{"decision": "Approve", "comment": "rotation ticket 42"}],
    ),
}

MS = _managed_secret("bad")
AR = _approval_request("bad")
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
        "spec.approval.requiredApprovals in body should be greater than or equal to 1",
    ),
    "vp-duplicate-gated-operation": (
        _with(
            HASHICORP,
            _set("spec.approval", {"operations": ["Delete", "Delete"], "approvers": {"users": ["alice"]}}),
        ),
        'spec.approval.operations[1]: Duplicate value: "Delete"',
    ),
    "vp-no-approvers": (
        _with(HASHICORP, _set("spec.approval", {"operations": ["Create"], "approvers": {}})),
        "spec.approval.approvers must name at least one user or group",
    ),
    "ms-duplicate-sync-targets": (
        _managed_secret(
            "bad",
            syncTargets=[
                {"vaultProfile": {"name": "aws"}, "path": "apps/db"},
                {"vaultProfile": {"name": "aws"}, "path": "apps/db", "environment": "default"},
            ],
        ),
        "spec.syncTargets lists the same vaultProfile, path and environment more than once",
    ),
    "ms-target-equals-source": (
        _managed_secret("bad", syncTargets=[{"vaultProfile": {"name": "vault"}, "path": "apps/db"}]),
        "a sync target cannot be the source itself",
    ),
    "ms-unknown-type": (
        _with(MS, _set("spec.type", "password")),
        'spec.type: Unsupported value: "password": supported values: "basic-auth"',
    ),
    "ms-empty-path": (_with(MS, _set("spec.source.path", "")), "spec.source.path"),
    "ms-profile-as-plain-string": (
        _with(MS, _set("spec.source.vaultProfile", "vault")),
        "spec.source.vaultProfile in body must be of type object",
    ),
    "ms-duplicate-kubernetes-secrets": (
        _managed_secret("bad", kubernetesSecrets=[{"name": "db"}, {"name": "db"}]),
        "spec.kubernetesSecrets lists the same namespace/name more than once",
    ),
    "ms-generator-does-not-fit-type": (
        _managed_secret("bad", generate={"kind": "privateKey"}),
        "spec.generate.kind does not fit spec.type",
    ),
    "ms-generator-length-on-private-key": (
        _managed_secret("bad", type="private-key", generate={"kind": "privateKey", "length": 32}),
        "generate.length applies only to kind password or secretKey",
    ),
    "ms-references-itself": (
        _managed_secret(
            "bad",
            references=["bad"],
            kubernetesSecrets=[{"name": "db", "template": {"url": "{{ secret.password }}"}}],
        ),
        "spec.references cannot name the ManagedSecret itself",
    ),
    "ms-references-without-template": (
        _managed_secret("bad", references=["ca"]),
        "spec.references are only used by templates",
    ),
    "ms-template-bad-key": (
        _managed_secret("bad", kubernetesSecrets=[{"name": "db", "template": {"no spaces": "x"}}]),
        "template keys must be Secret data keys",
    ),
    "ms-tls-secret-for-basic-auth": (
        _managed_secret("bad", kubernetesSecrets=[{"name": "db", "secretType": "kubernetes.io/tls"}]),
        "secretType kubernetes.io/tls needs spec.type certificate",
    ),
    "ar-unknown-decision": (
        _approval_request("bad", decisions=[{"decision": "Maybe"}]),
        'spec.decisions[0].decision: Unsupported value: "Maybe"',
    ),
    "ar-bare-hash-fingerprint": (
        _with(AR, _set("spec.fingerprint", "sha256:" + "ab" * 32)),
        "spec.fingerprint",
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
    for short_name in ("vp", "ms", "ar"):
        listed = kube.kubectl("get", short_name, "-n", namespace)
        assert listed.returncode == 0, listed.stderr
    listed = kube.kubectl("get", "vaultsync", "-n", namespace)
    assert listed.returncode == 0, listed.stderr


UPDATES = {
    "ar-fingerprint-is-immutable": (
        _set("spec.fingerprint", "hmac-sha256:" + "cd" * 32),
        "spec.fingerprint is immutable: create a new ApprovalRequest instead",
    ),
    "ar-operation-is-immutable": (_set("spec.operation", "Delete"), "spec.operation is immutable"),
    "ar-decision-changed": (
        _set("spec.decisions", [{"decision": "Reject", "comment": "first"}]),
        "spec.decisions is append-only: existing decisions cannot be changed or removed",
    ),
    "ar-decision-removed": (
        _set("spec.decisions", []),
        "spec.decisions is append-only",
    ),
}


@pytest.mark.parametrize(("change", "message"), UPDATES.values(), ids=UPDATES.keys())
def test_approval_request_updates_that_rewrite_history_are_rejected(
    kube: KubeControlPlane, namespace: str, change: Callable[[Body], None], message: str
) -> None:
    name = f"history-{uuid.uuid4().hex[:6]}"
    original = _approval_request(name, decisions=[{"decision": "Approve", "comment": "first"}])
    code, output = _apply(kube, namespace, original)
    assert code == 0, output
    code, output = _apply(kube, namespace, _with(original, change))
    assert code != 0, "the apiserver accepted a rewrite of an ApprovalRequest"
    assert message in output


def test_approval_request_accepts_an_appended_decision(kube: KubeControlPlane, namespace: str) -> None:
    original = _approval_request("append", decisions=[{"decision": "Approve", "comment": "first"}])
    assert _apply(kube, namespace, original)[0] == 0
    appended = _with(
        original,
        _set("spec.decisions", [{"decision": "Approve", "comment": "first"}, {"decision": "Reject"}]),
    )
    code, output = _apply(kube, namespace, appended)
    assert code == 0, output


def test_printer_columns_show_status(kube: KubeControlPlane, namespace: str) -> None:
    assert _apply(kube, namespace, _managed_secret("printed"))[0] == 0
    status = {"status": {"phase": "Synced", "currentVersion": 3, "shortFingerprint": "0123456789ab"}}
    patched = kube.kubectl(
        "patch",
        "managedsecret",
        "printed",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    assert patched.returncode == 0, patched.stderr
    listed = kube.kubectl("get", "ms", "printed", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "TYPE", "PHASE", "VERSION", "FINGERPRINT", "EXPIRES", "AGE"]
    assert row.split()[:5] == ["printed", "basic-auth", "Synced", "3", "0123456789ab"]


@pytest.mark.parametrize(
    ("resource", "teaches"),
    [
        ("managedsecret.spec.source.vaultProfile", "organisation profile"),
        ("vaultprofile.spec.provider.hashicorp.auth", "exactly one of token, appRole, kubernetes"),
        ("approvalrequest.spec.decisions", "existing entries cannot change"),
    ],
    ids=["ms-source-profile", "vp-hashicorp-auth", "ar-decisions"],
)
def test_kubectl_explain_teaches_the_api(
    kube: KubeControlPlane, crds_installed: None, resource: str, teaches: str
) -> None:
    explained = kube.kubectl("explain", resource)
    assert explained.returncode == 0, explained.stderr
    assert teaches in " ".join(explained.stdout.split())
