"""The index of managed Secret names, loaded from a real kube-apiserver: one metadata-only LIST,
paged, that holds every labelled Secret and nothing else; and a ready probe that says yes."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client

from operator_kube import operator_http
from vaultsync.sync import secret_names
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.secret_names import SecretNames
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack


def _secret(namespace: str, name: str, managed: bool) -> client.V1Secret:
    labels = {"app.kubernetes.io/managed-by": "vaultsync"} if managed else {"app": "other"}
    return client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
        string_data={"k": "not-a-secret-value"},
    )


def test_the_index_holds_every_managed_secret_across_pages_and_nothing_else(
    kube: KubeControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = kube.api_client()
    core = client.CoreV1Api(api)
    namespace = f"names-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        for i in range(7):
            core.create_namespaced_secret(namespace, _secret(namespace, f"ours-{i}", managed=True))
        core.create_namespaced_secret(namespace, _secret(namespace, "theirs", managed=False))
        names = SecretNames()
        assert names.may_exist(namespace, "anything"), "before the LIST every name may exist"
        monkeypatch.setattr(secret_names, "PAGE", 3)
        assert names.load(KubeApi(operator_http(kube)), [namespace])
        assert len(names) == 7
        assert all(names.may_exist(namespace, f"ours-{i}") for i in range(7))
        assert not names.may_exist(namespace, "theirs"), "unlabelled, not ours: create, then fall back"
        assert not names.may_exist(namespace, "new")
        names.seen(namespace, "new", exists=True)
        names.seen(namespace, "ours-0", exists=False)
        assert names.may_exist(namespace, "new")
        assert not names.may_exist(namespace, "ours-0")
        # A Secret listed again unchanged (after the watch expired) shows the version seen before.
        listed = core.read_namespaced_secret("ours-1", namespace).metadata.resource_version
        assert names.seen(namespace, "ours-1", True, None, listed) == listed
        assert names.seen(namespace, "ours-1", True, None, "newer") == listed
        assert names.seen(namespace, "new", exists=True) is None, "our own create: version unknown"
        assert KubeApi(operator_http(kube)).ready()
    finally:
        core.delete_namespace(namespace)


def test_a_refused_list_leaves_every_name_possible(kube: KubeControlPlane) -> None:
    names = SecretNames()
    assert not names.load(KubeApi(operator_http(kube, "dave")), []), "dave may not list Secrets"
    assert names.may_exist("any", "name")
