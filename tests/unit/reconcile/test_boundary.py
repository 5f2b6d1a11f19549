"""The namespace boundary: what a namespaced spec may reach, as a table."""

from __future__ import annotations

from typing import Any

import pytest

from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.reconcile.boundary import (
    Boundary,
    kubernetes_namespace,
    parse_allowances,
    profile_problem,
    secret_problems,
)

OPERATOR_NS = "vaultsync-system"
BOUNDARY = Boundary(OPERATOR_NS, frozenset({("team-a", "shared")}))


def profile(namespace: str, provider: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": "p"}, "spec": {"provider": provider}}


def secret(namespace: str, **spec: Any) -> dict[str, Any]:
    base = {"type": "generic", "source": {"vaultProfile": {"name": "p"}, "path": "x"}}
    return {"metadata": {"namespace": namespace, "name": "s"}, "spec": {**base, **spec}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(profile("team-a", {"kubernetes": {}}), None, id="own-namespace-by-default"),
        pytest.param(
            profile("team-a", {"kubernetes": {"namespace": "team-a"}}), None, id="own-namespace-named"
        ),
        pytest.param(
            profile("team-a", {"kubernetes": {"namespace": "team-b"}}), "is another namespace", id="other"
        ),
        pytest.param(
            profile("team-a", {"kubernetes": {"namespace": "kube-system"}}), "never a vault", id="kube-system"
        ),
        pytest.param(
            profile("team-a", {"kubernetes": {"namespace": OPERATOR_NS}}), "never a vault", id="operator-ns"
        ),
        pytest.param(profile(OPERATOR_NS, {"kubernetes": {}}), "never a vault", id="org-profile-own-ns"),
        pytest.param(
            profile(OPERATOR_NS, {"kubernetes": {"namespace": "team-b"}}), None, id="org-profile-other"
        ),
        pytest.param(
            profile("kube-system", {"kubernetes": {}}), "never a vault", id="profile-in-kube-system"
        ),
        pytest.param(
            profile("team-a", {"env": {"prefix": "S"}}), "organisation profiles", id="namespaced-env"
        ),
        pytest.param(profile(OPERATOR_NS, {"env": {}}), None, id="org-env"),
        pytest.param(profile("team-a", {"hashicorp": {"address": "http://x"}}), None, id="vault"),
        pytest.param(
            profile("team-a", {"hashicorp": {"auth": {"kubernetes": {"role": "r"}}}}),
            "operator's own identity (its service account token)",
            id="namespaced-vault-kubernetes-auth",
        ),
        pytest.param(
            profile("team-a", {"aws": {"auth": {"webIdentity": {"roleArn": "a"}}}}),
            "spec.provider.aws.auth.webIdentity",
            id="namespaced-aws-web-identity",
        ),
        pytest.param(
            profile("team-a", {"aws": {"auth": {"roleArn": {"roleArn": "a"}}}}),
            "spec.provider.aws.auth.roleArn",
            id="namespaced-aws-role",
        ),
        pytest.param(
            profile("team-a", {"azure": {"auth": {"workloadIdentity": {"tenantId": "t"}}}}),
            "spec.provider.azure.auth.workloadIdentity",
            id="namespaced-azure-workload-identity",
        ),
        pytest.param(
            profile(OPERATOR_NS, {"hashicorp": {"auth": {"kubernetes": {"role": "r"}}}}),
            None,
            id="org-k8s-auth",
        ),
        pytest.param(
            profile("team-a", {"aws": {"auth": {"accessKey": {}}}}), None, id="namespaced-access-key"
        ),
    ],
)
def test_profile_problem(body: dict[str, Any], expected: str | None) -> None:
    problem = profile_problem(body, BOUNDARY)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert expected in problem


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(secret("team-a", kubernetesSecrets=[{"name": "t"}]), [], id="own-default"),
        pytest.param(
            secret("team-a", kubernetesSecrets=[{"name": "t", "namespace": "team-a"}]), [], id="own-named"
        ),
        pytest.param(
            secret("team-a", kubernetesSecrets=[{"name": "t", "namespace": "team-b"}]),
            ["spec.kubernetesSecrets[0].namespace team-b"],
            id="other-target",
        ),
        pytest.param(
            secret("team-a", kubernetesSecrets=[{"name": "t", "namespace": "shared"}]), [], id="allowed"
        ),
        pytest.param(
            secret("team-b", kubernetesSecrets=[{"name": "t", "namespace": "shared"}]),
            ["spec.kubernetesSecrets[0].namespace shared"],
            id="allowance-is-per-source-namespace",
        ),
        pytest.param(
            secret("team-a", kubernetesSecrets=[{"name": "t", "namespace": "kube-system"}]),
            ["never written to kube-system"],
            id="kube-system-target",
        ),
        pytest.param(
            secret("team-a", source={"vaultProfile": {"name": "p", "namespace": "team-b"}, "path": "x"}),
            ["spec.source.vaultProfile.namespace team-b"],
            id="other-namespace-profile",
        ),
        pytest.param(
            secret("team-a", source={"vaultProfile": {"name": "p", "namespace": OPERATOR_NS}, "path": "x"}),
            [],
            id="organisation-profile",
        ),
        pytest.param(
            secret(
                "team-a", syncTargets=[{"vaultProfile": {"name": "p", "namespace": "team-b"}, "path": "x"}]
            ),
            ["spec.syncTargets[0].vaultProfile.namespace team-b"],
            id="other-namespace-sync-target",
        ),
    ],
)
def test_secret_problems(body: dict[str, Any], expected: list[str]) -> None:
    problems = secret_problems(
        body["metadata"]["namespace"], ManagedSecretSpec.from_dict(body["spec"]), BOUNDARY
    )
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


def test_kubernetes_namespace_defaults_to_the_profiles_own() -> None:
    assert kubernetes_namespace(profile("team-a", {"kubernetes": {}})) == "team-a"
    assert kubernetes_namespace(profile("team-a", {"kubernetes": None})) == "team-a"
    assert kubernetes_namespace(profile("team-a", {"env": {}})) is None


def test_parse_allowances() -> None:
    assert parse_allowances(" a=b, a=c ,") == {("a", "b"), ("a", "c")}
    assert parse_allowances("") == frozenset()
    with pytest.raises(ValueError, match="not <namespace>=<namespace>"):
        parse_allowances("a-b")
