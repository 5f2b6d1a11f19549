"""Kubernetes-specific cases on the real kube-apiserver: Secret types, RBAC diagnosis, names, and
the shared Secret store (``backends/kube_secrets.py``) as the ManagedSecret targets use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from contract.documents import document_for
from operator_kube import operator_http
from vaultsync.backends.errors import BackendError, Conflict, InvalidConfig, NotOwned, PermissionDenied
from vaultsync.backends.interface import check_ownership, metadata_from_marks
from vaultsync.backends.kube_errors import api_error
from vaultsync.backends.kube_http import MERGE_PATCH, KubeHttp, KubeStatusError, resource_path
from vaultsync.backends.kube_secrets import KubeSecrets, StoredSecret
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


@dataclass
class _Caller:
    """A user of the shared Secret store; by default set up as the ManagedSecret targets are."""

    keeps_existing_metadata: bool = False
    recreates_on_type_change: bool = False
    operations: list[str] = field(default_factory=list)

    def calling(self, operation: str) -> None:
        self.operations.append(operation)

    def refusal(self, error: KubeStatusError, operation: str, name: str) -> BackendError:
        return api_error(error, f"{operation} {name}", missing=f"{operation} secrets")

    def require_owner(self, secret: StoredSecret, owner: str, *, adopt: bool) -> None:
        marks = {**secret.labels, **secret.annotations}
        check_ownership(secret.name, metadata_from_marks(marks), owner, adopt=adopt)


def _raw(admin: KubeHttp, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = admin.get(resource_path("", "v1", "secrets", namespace, name))
    return found


def _plant(admin: KubeHttp, namespace: str, name: str, *, labels: Mapping[str, str] | None = None) -> None:
    body = {
        "metadata": {"name": name, "labels": dict(labels or {})},
        "type": "Opaque",
        "stringData": {"value": "theirs"},
    }
    admin.request("POST", resource_path("", "v1", "secrets", namespace), body=body)


def _put(secrets: KubeSecrets, value: bytes, over: StoredSecret | None, **options: Any) -> str:
    payload = secrets.payload("s", "Opaque", {"value": value}, **options)
    return secrets.write(payload, owner=OWNER, adopt=False, over=over)


def test_the_callers_labels_and_annotations_stand_beside_the_ownership_marks(
    admin: KubeHttp, namespace: str
) -> None:
    secrets = KubeSecrets(admin, namespace, _Caller())
    payload = secrets.payload(
        "s",
        "Opaque",
        {"value": b"v"},
        labels={"team": "a", "managed-by": "someone-else"},
        annotations={"note": "kept", "vaultsync.io/owner": "team-b/forged"},
    )
    version = secrets.write(payload, owner=OWNER, adopt=False, over=None)
    meta = _raw(admin, namespace, "s")["metadata"]
    assert meta["resourceVersion"] == version
    assert meta["labels"] == {"team": "a", "managed-by": "vaultsync"}, "the ownership mark wins"
    assert meta["annotations"] == {"note": "kept", "vaultsync.io/owner": OWNER}


@pytest.mark.parametrize("keeps", [True, False], ids=["kept-as-the-backend-does", "dropped-as-targets-do"])
def test_a_rewrite_keeps_the_labels_others_added_only_when_the_caller_says(
    admin: KubeHttp, namespace: str, keeps: bool
) -> None:
    secrets = KubeSecrets(admin, namespace, _Caller(keeps_existing_metadata=keeps))
    _put(secrets, b"1", None, labels={"team": "a"})
    added = {"metadata": {"labels": {"added-by": "hand"}, "annotations": {"noted-by": "hand"}}}
    path = resource_path("", "v1", "secrets", namespace, "s")
    admin.request("PATCH", path, body=added, content_type=MERGE_PATCH)
    _put(secrets, b"2", secrets.read("s"))
    meta = _raw(admin, namespace, "s")["metadata"]
    assert meta["labels"].get("managed-by") == "vaultsync"
    assert meta["annotations"].get("vaultsync.io/owner") == OWNER
    assert ("added-by" in meta["labels"]) is keeps
    assert ("noted-by" in meta["annotations"]) is keeps
    assert ("team" in meta["labels"]) is keeps, "a label the payload no longer has stays only when kept"


def test_creating_a_secret_that_exists_is_a_conflict_and_leaves_it_alone(
    admin: KubeHttp, namespace: str
) -> None:
    _plant(admin, namespace, "s")
    before = _raw(admin, namespace, "s")
    caller = _Caller()
    secrets = KubeSecrets(admin, namespace, caller)
    payload = secrets.payload("s", "Opaque", {"value": b"hidden-value"})
    with pytest.raises(Conflict) as refused:
        secrets.write(payload, owner=OWNER, adopt=True, over=None)
    assert f"Secret {namespace}/s" in str(refused.value)
    assert "hidden-value" not in str(refused.value)
    assert caller.operations == ["create"]
    assert _raw(admin, namespace, "s") == before


def test_a_type_change_in_place_is_a_conflict_unless_the_caller_recreates(
    admin: KubeHttp, namespace: str
) -> None:
    secrets = KubeSecrets(admin, namespace, _Caller())
    basic = {"username": b"u", "password": b"hidden-value"}
    secrets.write(secrets.payload("s", "Opaque", basic), owner=OWNER, adopt=False, over=None)
    current = secrets.read("s")
    assert current is not None
    with pytest.raises(Conflict) as refused:
        secrets.write(
            secrets.payload("s", "kubernetes.io/basic-auth", basic), owner=OWNER, adopt=False, over=current
        )
    assert "cannot change type in place; delete it first" in str(refused.value)
    assert "hidden-value" not in str(refused.value)
    assert _raw(admin, namespace, "s")["metadata"]["resourceVersion"] == current.resource_version

    recreating = KubeSecrets(admin, namespace, _Caller(recreates_on_type_change=True))
    payload = recreating.payload("s", "kubernetes.io/basic-auth", basic)
    version = recreating.write(payload, owner=OWNER, adopt=False, over=current)
    assert _raw(admin, namespace, "s")["type"] == "kubernetes.io/basic-auth"
    assert version != current.resource_version


def test_a_stale_read_neither_replaces_nor_deletes(admin: KubeHttp, namespace: str) -> None:
    secrets = KubeSecrets(admin, namespace, _Caller())
    _put(secrets, b"1", None)
    stale = secrets.read("s")
    assert stale is not None
    newer = _put(secrets, b"2", stale)
    with pytest.raises(Conflict):
        _put(secrets, b"3", stale)
    with pytest.raises(Conflict):
        secrets.delete(stale, owner=OWNER, adopt=False)
    kept = secrets.read("s")
    assert kept is not None
    assert (kept.resource_version, kept.data) == (newer, {"value": b"2"})


def test_a_secret_that_is_not_ours_is_touched_only_when_adopted(admin: KubeHttp, namespace: str) -> None:
    _plant(admin, namespace, "s", labels={"team": "theirs"})
    caller = _Caller()
    secrets = KubeSecrets(admin, namespace, caller)
    foreign = secrets.read("s")
    assert foreign is not None
    payload = secrets.payload("s", "Opaque", {"value": b"ours"})
    with pytest.raises(NotOwned):
        secrets.write(payload, owner=OWNER, adopt=False, over=foreign)
    with pytest.raises(NotOwned):
        secrets.delete(foreign, owner=OWNER, adopt=False)
    assert caller.operations == ["read"], "a refusal sends nothing"
    assert _raw(admin, namespace, "s")["metadata"]["resourceVersion"] == foreign.resource_version

    secrets.write(payload, owner=OWNER, adopt=True, over=foreign)
    adopted = secrets.read("s")
    assert adopted is not None
    assert adopted.labels == {"managed-by": "vaultsync"}
    assert adopted.annotations == {"vaultsync.io/owner": OWNER}
    secrets.delete(adopted, owner=OWNER, adopt=False)
    assert secrets.read("s") is None
