"""`helm install` into the real kube-apiserver of the local stack: every object is created, upgrades
keep the generated keys, and the operator's ServiceAccount can do exactly what the chart promises
(checked by impersonating it with `kubectl auth can-i`). There is no kubelet, so no pod runs: the
tests look at the API objects, never at a running operator.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from chart.chart_tools import CHART_DIR, REPO_ROOT, Helm
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack


@dataclass
class Release:
    name: str
    namespace: str
    values: dict[str, Any]
    helm: Helm
    kube: KubeControlPlane
    extra_namespaces: list[str] = field(default_factory=list)
    install_output: str = ""

    @property
    def fullname(self) -> str:
        return f"{self.name}-vaultsync"

    @property
    def service_account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"

    def helm_run(self, *args: str) -> Any:
        return self.helm.run(*args, kubeconfig=self.kube.kubeconfig)

    def install(self, command: str = "install", *extra: str) -> None:
        values = self.helm.values_file(self.values, f"install-{self.name}")
        done = self.helm_run(
            command,
            self.name,
            str(CHART_DIR),
            "--namespace",
            self.namespace,
            "-f",
            str(values),
            "--timeout",
            "120s",
            *extra,
        )
        assert done.returncode == 0, done.stderr
        self.install_output = done.stdout

    def manifest(self) -> list[dict[str, Any]]:
        got = self.helm_run("get", "manifest", self.name, "--namespace", self.namespace)
        assert got.returncode == 0, got.stderr
        return [doc for doc in yaml.safe_load_all(got.stdout) if doc]

    def get_json(self, *args: str) -> dict[str, Any]:
        got = self.kube.kubectl("get", *args, "-o", "json")
        assert got.returncode == 0, got.stderr
        return dict(json.loads(got.stdout))

    def can(self, verb: str, resource: str, *scope: str) -> bool:
        answer = self.kube.kubectl("auth", "can-i", verb, resource, *scope, f"--as={self.service_account}")
        assert answer.stdout.strip() in ("yes", "no"), answer.stderr
        return answer.stdout.strip() == "yes"

    def uninstall(self) -> None:
        self.helm_run("uninstall", self.name, "--namespace", self.namespace, "--wait", "--timeout", "120s")
        for namespace in [self.namespace, *self.extra_namespaces]:
            self.kube.kubectl("delete", "namespace", namespace, "--wait=false")


def _namespace(kube: KubeControlPlane, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    created = kube.kubectl("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    return name


@pytest.fixture(scope="module")
def crds_applied(kube: KubeControlPlane) -> None:
    """The documented `kubectl apply -f crds/` path, done the way other suites of the session apply
    them (server-side, kubectl's field manager), so the shared API server sees one owner."""
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "crds"))
    assert applied.returncode == 0, applied.stderr


@pytest.fixture(scope="module")
def cluster_wide(helm: Helm, kube: KubeControlPlane, crds_applied: None) -> Iterator[Release]:
    """HA, cluster-wide: two replicas behind a ClusterKopfPeering."""
    release = Release(
        name="cw",
        namespace=_namespace(kube, "vs-cluster"),
        values={"ha": {"enabled": True}, "replicas": 2},
        helm=helm,
        kube=kube,
    )
    release.extra_namespaces.append(_namespace(kube, "vs-app"))
    try:
        release.install()
        yield release
    finally:
        release.uninstall()


@pytest.fixture(scope="module")
def sharded(helm: Helm, kube: KubeControlPlane, crds_applied: None) -> Iterator[Release]:
    """Namespaced, installed with --skip-crds: the operator works in two team namespaces only."""
    teams = [_namespace(kube, "vs-team-a"), _namespace(kube, "vs-team-b")]
    outside = _namespace(kube, "vs-outside")
    release = Release(
        name="shard",
        namespace=_namespace(kube, "vs-shard"),
        values={"watchNamespaces": teams, "rbac": {"serviceAccountTokens": True}},
        helm=helm,
        kube=kube,
        extra_namespaces=[*teams, outside],
    )
    try:
        release.install("install", "--skip-crds")
        yield release
    finally:
        release.uninstall()


def _team(release: Release, index: int) -> str:
    return str(release.values["watchNamespaces"][index])


def _outside(release: Release) -> str:
    return release.extra_namespaces[-1]


@pytest.mark.parametrize("release_fixture", ["cluster_wide", "sharded"])
def test_every_rendered_object_exists(request: pytest.FixtureRequest, release_fixture: str) -> None:
    release: Release = request.getfixturevalue(release_fixture)
    objects = release.manifest()
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "ServiceAccount", "Service", "Secret", "PodDisruptionBudget"} <= kinds
    assert {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} <= kinds
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        scope = ["--namespace", namespace] if namespace else []
        kind = (
            obj["kind"] + "." + obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else obj["kind"]
        )
        got = release.get_json(kind, obj["metadata"]["name"], *scope)
        assert got["metadata"]["labels"]["app.kubernetes.io/instance"] == release.name
    deployment = release.get_json("deployment", release.fullname, "--namespace", release.namespace)
    assert deployment["spec"]["replicas"] == release.values.get("replicas", 1)
    assert deployment["status"].get("readyReplicas") is None  # no kubelet: the objects, not the pods
    for crd in sorted(path.name for path in (CHART_DIR / "crds").glob("*.yaml")):
        name = yaml.safe_load((CHART_DIR / "crds" / crd).read_text())["metadata"]["name"]
        established = release.kube.kubectl(
            "wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s"
        )
        assert established.returncode == 0, established.stderr


@pytest.mark.parametrize(
    ("release_fixture", "lines"),
    [
        pytest.param(
            "cluster_wide",
            [
                "Scope: the whole cluster",
                'Replicas: 2, Lease "cw-vaultsync-leader" elects the one that syncs',
            ],
            id="cluster-wide-ha",
        ),
        pytest.param("sharded", ["Scope: namespaces vs-team-a-", "Replicas: 1.\n"], id="sharded"),
    ],
)
def test_install_notes_describe_the_installation(
    request: pytest.FixtureRequest, release_fixture: str, lines: list[str]
) -> None:
    release: Release = request.getfixturevalue(release_fixture)
    notes = release.install_output.split("NOTES:", 1)[1]
    for line in lines:
        assert line in notes
    assert f"Secret {release.fullname}-webhook-tls" in notes
    assert f"rollout status deployment/{release.fullname}" in notes


def test_ha_install_grants_its_leader_lease_only(cluster_wide: Release) -> None:
    scope = ("-n", cluster_wide.namespace)
    lease = f"leases.coordination.k8s.io/{cluster_wide.fullname}-leader"
    assert cluster_wide.can("update", lease, *scope)
    assert cluster_wide.can("create", "leases.coordination.k8s.io", *scope)
    assert not cluster_wide.can("update", "leases.coordination.k8s.io/someone-elses", *scope)


def test_approval_requests_go_through_the_webhooks(cluster_wide: Release) -> None:
    """With failurePolicy Fail and no operator pod, the API server refuses the request: proof that
    the webhooks are registered for ApprovalRequests and point at the chart's Service."""
    request = {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "ApprovalRequest",
        "metadata": {"name": "probe", "namespace": cluster_wide.extra_namespaces[0]},
        "spec": {},
    }
    created = cluster_wide.kube.kubectl("create", "-f", "-", input=json.dumps(request))
    assert created.returncode != 0
    assert 'failed calling webhook "mutate.approvalrequests.vaultsync.io"' in created.stderr
    assert f"{cluster_wide.fullname}-webhook" in created.stderr


@pytest.mark.parametrize("weakened", [False, True], ids=["chart-pod", "control-keeps-capabilities"])
def test_operator_pod_passes_the_restricted_pod_security_standard(
    cluster_wide: Release, weakened: bool
) -> None:
    """The API server's PodSecurity admission judges a pod built from the Deployment's template in a
    namespace that enforces `restricted` (the pod is never scheduled: there is no kubelet)."""
    namespace = _namespace(cluster_wide.kube, "vs-restricted")
    cluster_wide.extra_namespaces.append(namespace)
    labelled = cluster_wide.kube.kubectl(
        "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )
    assert labelled.returncode == 0, labelled.stderr
    (deployment,) = [obj for obj in cluster_wide.manifest() if obj["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    if weakened:
        del spec["containers"][0]["securityContext"]["capabilities"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "operator", "namespace": namespace}}
    created = cluster_wide.kube.kubectl("create", "-f", "-", input=json.dumps({**pod, "spec": spec}))
    if weakened:
        assert created.returncode != 0
        assert 'violates PodSecurity "restricted:latest": unrestricted capabilities' in created.stderr
    else:
        assert created.returncode == 0, created.stderr


def test_upgrade_keeps_the_hmac_key_and_webhook_ca(cluster_wide: Release) -> None:
    def observed() -> tuple[str, str, str]:
        hmac = cluster_wide.get_json("secret", f"{cluster_wide.fullname}-hmac", "-n", cluster_wide.namespace)
        tls = cluster_wide.get_json(
            "secret", f"{cluster_wide.fullname}-webhook-tls", "-n", cluster_wide.namespace
        )
        hook = cluster_wide.get_json(
            "validatingwebhookconfiguration", f"{cluster_wide.fullname}-{cluster_wide.namespace}"
        )
        assert hmac["immutable"] is True
        return hmac["data"]["key"], tls["data"]["tls.crt"], hook["webhooks"][0]["clientConfig"]["caBundle"]

    before = observed()
    cluster_wide.values = {**cluster_wide.values, "logLevel": "debug"}
    cluster_wide.install("upgrade")
    assert observed() == before
    revision = cluster_wide.get_json("secret", "-n", cluster_wide.namespace, "-l", "owner=helm,name=cw")
    assert len(revision["items"]) == 2


def test_uninstall_keeps_the_hmac_key_and_removes_the_webhooks(helm: Helm, kube: KubeControlPlane) -> None:
    release = Release(name="gone", namespace=_namespace(kube, "vs-gone"), values={}, helm=helm, kube=kube)
    try:
        release.install()
        hook_name = f"{release.fullname}-{release.namespace}"
        assert kube.kubectl("get", "mutatingwebhookconfiguration", hook_name).returncode == 0
        removed = release.helm_run("uninstall", release.name, "--namespace", release.namespace, "--wait")
        assert removed.returncode == 0, removed.stderr
        assert kube.kubectl("get", "mutatingwebhookconfiguration", hook_name).returncode != 0
        assert kube.kubectl("get", "clusterrole", hook_name).returncode != 0
        kept = kube.kubectl("get", "secret", f"{release.fullname}-hmac", "-n", release.namespace)
        assert kept.returncode == 0, kept.stderr
    finally:
        release.uninstall()


# (verb, resource, scope) the operator must be able to do, and must not, whatever the mode.
ALWAYS_ALLOWED = [
    ("list", "customresourcedefinitions.apiextensions.k8s.io", ()),
    ("watch", "namespaces", ()),
    ("create", "leases.coordination.k8s.io", ("-n", "{operator}")),
    ("create", "secrets", ("-n", "{operator}")),
    ("create", "subjectaccessreviews.authorization.k8s.io", ()),
]
ALWAYS_DENIED = [
    ("delete", "namespaces", ()),
    ("create", "clusterroles.rbac.authorization.k8s.io", ()),
    ("create", "rolebindings.rbac.authorization.k8s.io", ("-n", "{operator}")),
    ("get", "nodes", ()),
    ("impersonate", "serviceaccounts", ("-n", "{operator}")),
    ("create", "pods", ("--subresource=exec", "-n", "{team}")),
    ("delete", "managedsecrets.vaultsync.io", ("-n", "{team}")),
    ("delete", "deployments.apps", ("-n", "{team}")),
    ("get", "configmaps", ("-n", "{team}")),
    ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io", ()),
]
CLUSTER_WIDE_ALLOWED = [
    ("list", "managedsecrets.vaultsync.io", ("--all-namespaces",)),
    ("watch", "vaultprofiles.vaultsync.io", ("--all-namespaces",)),
    ("patch", "managedsecrets.vaultsync.io", ("--subresource=status", "-n", "{team}")),
    ("update", "approvalrequests.vaultsync.io", ("--subresource=status", "-n", "{team}")),
    ("create", "approvalrequests.vaultsync.io", ("-n", "{team}")),
    ("create", "events", ("-n", "{team}")),
    ("get", "secrets", ("-n", "{team}")),
    ("delete", "secrets", ("-n", "{team}")),
    ("list", "secrets", ("--all-namespaces",)),
    ("patch", "deployments.apps", ("-n", "{team}")),
    ("list", "cronjobs.batch", ("--all-namespaces",)),
]
CLUSTER_WIDE_DENIED = [
    ("create", "serviceaccounts", ("--subresource=token", "-n", "{team}")),
]
SHARDED_ALLOWED = [
    ("list", "managedsecrets.vaultsync.io", ("-n", "{team}")),
    ("patch", "managedsecrets.vaultsync.io", ("--subresource=status", "-n", "{team2}")),
    ("create", "events", ("-n", "{team}")),
    ("get", "secrets", ("-n", "{team}")),
    ("list", "secrets", ("-n", "{team2}")),
    ("patch", "statefulsets.apps", ("-n", "{team}")),
    ("create", "serviceaccounts", ("--subresource=token", "-n", "{team}")),
    ("get", "secrets/{hmac}", ("-n", "{operator}")),
]
SHARDED_DENIED = [
    ("list", "managedsecrets.vaultsync.io", ("--all-namespaces",)),
    ("list", "secrets", ("--all-namespaces",)),
    ("list", "secrets", ("-n", "{outside}")),
    ("get", "secrets", ("-n", "{outside}")),
    ("list", "secrets", ("-n", "{operator}")),
    ("patch", "managedsecrets.vaultsync.io", ("--subresource=status", "-n", "{outside}")),
    ("create", "serviceaccounts", ("--subresource=token", "-n", "{outside}")),
    ("update", "leases.coordination.k8s.io", ("-n", "{operator}")),
    ("get", "secrets/unrelated", ("-n", "{operator}")),
]


def _scope_args(release: Release, resource: str, scope: tuple[str, ...]) -> tuple[str, list[str]]:
    teams = release.values.get("watchNamespaces") or [release.extra_namespaces[0]] * 2
    names = {
        "operator": release.namespace,
        "team": teams[0],
        "team2": teams[1],
        "outside": release.extra_namespaces[-1],
        "hmac": f"{release.fullname}-hmac",
    }
    return resource.format(**names), [arg.format(**names) for arg in scope]


def _call_id(call: tuple[str, str, tuple[str, ...]]) -> str:
    verb, resource, scope = call
    where = "cluster" if not scope else "-".join(s.strip("-{}").split("=")[-1] for s in scope if s != "-n")
    subject = re.sub(r"[{}]", "", resource.split(".")[0]).replace("/", "-")
    return f"{verb}-{subject}-{where}"


@pytest.mark.parametrize(
    ("release_fixture", "call", "expected"),
    [pytest.param("cluster_wide", c, True, id="cluster-wide-can-" + _call_id(c)) for c in ALWAYS_ALLOWED]
    + [pytest.param("sharded", c, True, id="sharded-can-" + _call_id(c)) for c in ALWAYS_ALLOWED]
    + [pytest.param("cluster_wide", c, False, id="cluster-wide-cannot-" + _call_id(c)) for c in ALWAYS_DENIED]
    + [pytest.param("sharded", c, False, id="sharded-cannot-" + _call_id(c)) for c in ALWAYS_DENIED]
    + [
        pytest.param("cluster_wide", c, True, id="cluster-wide-can-" + _call_id(c))
        for c in CLUSTER_WIDE_ALLOWED
    ]
    + [
        pytest.param("cluster_wide", c, False, id="cluster-wide-cannot-" + _call_id(c))
        for c in CLUSTER_WIDE_DENIED
    ]
    + [pytest.param("sharded", c, True, id="sharded-can-" + _call_id(c)) for c in SHARDED_ALLOWED]
    + [pytest.param("sharded", c, False, id="sharded-cannot-" + _call_id(c)) for c in SHARDED_DENIED],
)
def test_service_account_rights_when_impersonated(
    request: pytest.FixtureRequest,
    release_fixture: str,
    call: tuple[str, str, tuple[str, ...]],
    expected: bool,
) -> None:
    release: Release = request.getfixturevalue(release_fixture)
    verb, resource, scope = call
    resource, args = _scope_args(release, resource, scope)
    assert release.can(verb, resource, *args) is expected, (verb, resource, args)
