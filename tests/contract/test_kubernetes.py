"""Kubernetes-specific cases on the real kube-apiserver: Secret types, RBAC diagnosis, names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contract.documents import document_for
from operator_kube import operator_http
from vaultsync.backends.errors import InvalidConfig, PermissionDenied
from vaultsync.backends.kube_http import resource_path
from vaultsync.backends.kubernetes import KubernetesBackend
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

OWNER = "team-a/app"


@pytest.fixture
def namespace(kube: KubeControlPlane) -> Iterator[str]:
    name = f"kb-{uuid.uuid4().hex[:10]}"
    assert kube.kubectl("create", "namespace", name).returncode == 0
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def admin(kube: KubeControlPlane) -> Iterator[Any]:
    http = operator_http(kube)
    yield http
    http.close()


@pytest.mark.parametrize(
    ("secret_type", "kubernetes_type", "keys"),
    [
        pytest.param("certificate", "kubernetes.io/tls", {"tls.crt", "tls.key"}, id="certificate-is-tls"),
        pytest.param("basic-auth", "kubernetes.io/basic-auth", {"username", "password"}, id="basic-auth"),
        pytest.param("api-key", "Opaque", {"apiKey", "headerName"}, id="api-key-is-opaque"),
        pytest.param("secret-key", "Opaque", {"secretKey"}, id="secret-key-raw-bytes"),
    ],
)
def test_natural_secret_types(
    admin: Any, namespace: str, secret_type: str, kubernetes_type: str, keys: set[str]
) -> None:
    backend = KubernetesBackend(admin, namespace, http_timeout=2)
    backend.write("s", secret_type, document_for(secret_type), owner=OWNER, expected_version=None)
    raw = admin.get(resource_path("", "v1", "secrets", namespace, "s"))
    assert raw["type"] == kubernetes_type
    assert set(raw["data"]) == keys
    assert raw["metadata"]["labels"]["managed-by"] == "vaultsync"
    assert raw["metadata"]["annotations"]["vaultsync.io/owner"] == OWNER


def test_changing_the_secret_type_recreates_the_secret(admin: Any, namespace: str) -> None:
    backend = KubernetesBackend(admin, namespace, http_timeout=2)
    first = backend.write("s", "generic", document_for("generic"), owner=OWNER, expected_version=None)
    backend.write("s", "certificate", document_for("certificate"), owner=OWNER, expected_version=first)
    remote = backend.read("s")
    assert remote.document == document_for("certificate")
    assert admin.get(resource_path("", "v1", "secrets", namespace, "s"))["type"] == "kubernetes.io/tls"


@pytest.mark.parametrize("path", ["team/db", "UPPER", "-dash", ""], ids=["slash", "upper", "dash", "empty"])
def test_paths_that_are_not_secret_names_are_invalid(admin: Any, namespace: str, path: str) -> None:
    with pytest.raises(InvalidConfig):
        KubernetesBackend(admin, namespace).read(path)


def test_non_admin_user_gets_the_missing_verbs(kube: KubeControlPlane, namespace: str) -> None:
    granted = kube.kubectl(
        "create", "role", "secret-reader", "-n", namespace, "--verb=get,list", "--resource=secrets"
    )
    assert granted.returncode == 0, granted.stderr
    bound = kube.kubectl(
        "create", "rolebinding", "alice-reads", "-n", namespace, "--role=secret-reader", "--user=alice"
    )
    assert bound.returncode == 0, bound.stderr
    alice = operator_http(kube, "alice")
    backend = KubernetesBackend(alice, namespace, http_timeout=2)
    report = backend.verify_permissions()
    assert report.missing == [
        f"{verb} secrets in namespace {namespace}" for verb in ("create", "update", "delete")
    ]
    assert len(report.checked) == 5
    with pytest.raises(PermissionDenied) as denied:
        backend.write("s", "generic", {"value": "hidden-value"}, owner=OWNER, expected_version=None)
    assert denied.value.missing == [f"create secrets in namespace {namespace}"]
    assert "hidden-value" not in str(denied.value)
    alice.close()


def test_user_without_any_rights_misses_everything(kube: KubeControlPlane, namespace: str) -> None:
    dave = operator_http(kube, "dave")
    report = KubernetesBackend(dave, namespace, http_timeout=2).verify_permissions()
    assert len(report.missing) == 5
    dave.close()


def test_change_detection_is_one_list_call(admin: Any, namespace: str) -> None:
    backend = KubernetesBackend(admin, namespace, http_timeout=2)
    for i in range(20):
        backend.write(f"s{i}", "generic", {"value": str(i)}, owner=OWNER, expected_version=None)
    marker = backend.list_changes(None).marker
    backend.write("s7", "generic", {"value": "changed"}, owner=OWNER, expected_version=None)
    backend.calls.reset()
    assert backend.list_changes(marker).changed == {"s7"}
    assert backend.calls.snapshot() == {"list": 1}
