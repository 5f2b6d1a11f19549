"""The control plane of the stack is a real kube-apiserver: CRDs, watches, RBAC, identities."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from vaultsync_devstack import Stack, versions
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.smoke.vaultsync.io"},
    "spec": {
        "group": "smoke.vaultsync.io",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer", "minimum": 1}},
                            }
                        },
                    }
                },
            }
        ],
    },
}


def test_version_is_the_pinned_release(kube: KubeControlPlane) -> None:
    info = client.VersionApi(kube.api_client()).get_code()
    assert info.git_version == versions.KUBERNETES
    out = kube.kubectl("version", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["clientVersion"]["gitVersion"] == versions.KUBERNETES


def test_crd_established_custom_resource_round_trip(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "-f", "-", input=json.dumps(_CRD))
    assert applied.returncode == 0, applied.stderr
    kube.wait_established("widgets.smoke.vaultsync.io")
    api = client.CustomObjectsApi(kube.api_client())
    name = f"w-{uuid.uuid4().hex[:8]}"
    body = {
        "apiVersion": "smoke.vaultsync.io/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 3},
    }
    api.create_namespaced_custom_object("smoke.vaultsync.io", "v1", "default", "widgets", body)
    got = api.get_namespaced_custom_object("smoke.vaultsync.io", "v1", "default", "widgets", name)
    assert got["spec"] == {"size": 3}
    bad = dict(body, metadata={"name": name + "-bad"}, spec={"size": 0})
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object("smoke.vaultsync.io", "v1", "default", "widgets", bad)
    assert err.value.status == 422
    assert "spec.size" in err.value.body


def test_secret_round_trip_and_watch_stream(kube: KubeControlPlane) -> None:
    core = client.CoreV1Api(kube.api_client())
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    seen: list[tuple[str, str]] = []
    # Watch from a resourceVersion taken before the create: the events arrive however late the
    # watch connects (from "now" it could start after the Secret was already gone).
    since = core.list_namespaced_secret("default").metadata.resource_version

    def watch_secrets() -> None:
        w = watch.Watch()
        stream = w.stream(core.list_namespaced_secret, "default", resource_version=since, timeout_seconds=20)
        for event in stream:
            obj: Any = event["object"]
            if obj.metadata.name == name:
                seen.append((event["type"], obj.metadata.name))
                if event["type"] == "DELETED":
                    w.stop()

    watcher = threading.Thread(target=watch_secrets, daemon=True)
    watcher.start()
    core.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"k": "v"})
    )
    assert core.read_namespaced_secret(name, "default").data == {"k": "dg=="}
    core.delete_namespaced_secret(name, "default")
    watcher.join(25)
    assert ("ADDED", name) in seen
    assert ("DELETED", name) in seen


@pytest.mark.parametrize("user", ["alice", "bob", "carol", "dave"])
def test_non_admin_users_are_denied_by_rbac(kube: KubeControlPlane, user: str) -> None:
    denied = kube.kubectl("get", "secrets", "-n", "default", user=user)
    assert denied.returncode != 0
    assert f'User "{user}" cannot list resource "secrets"' in denied.stderr
    who = kube.kubectl("auth", "whoami", "-o", "json", user=user)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == user


def test_granted_role_lets_a_user_in(kube: KubeControlPlane) -> None:
    ns = f"smoke-{uuid.uuid4().hex[:6]}"
    assert kube.kubectl("create", "namespace", ns).returncode == 0
    assert (
        kube.kubectl("create", "role", "reader", "--verb=get,list", "--resource=secrets", "-n", ns).returncode
        == 0
    )
    bound = kube.kubectl("create", "rolebinding", "alice-reader", "--role=reader", "--user=alice", "-n", ns)
    assert bound.returncode == 0, bound.stderr
    allowed = kube.kubectl("get", "secrets", "-n", ns, user="alice")
    assert allowed.returncode == 0, allowed.stderr
    assert kube.kubectl("get", "secrets", "-n", ns, user="bob").returncode != 0


def test_namespace_deletion_completes(kube: KubeControlPlane) -> None:
    ns = f"gone-{uuid.uuid4().hex[:6]}"
    assert kube.kubectl("create", "namespace", ns).returncode == 0
    deleted = kube.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=60s")
    assert deleted.returncode == 0, deleted.stderr


def test_helm_is_the_pinned_release(stack: Stack, kube: KubeControlPlane) -> None:
    out = subprocess.run(
        [str(stack.helm), "version", "--short"], capture_output=True, text=True, check=False, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(versions.HELM)
    listed = subprocess.run(
        [str(stack.helm), "list", "-A", "--kubeconfig", str(kube.kubeconfig)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
