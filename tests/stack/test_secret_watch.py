"""The Secret watch on a real kube-apiserver: metadata only, every change in order, resumed after
the server ends a watch, a re-list that reports what vanished meanwhile, and a prompt stop."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from operator_kube import operator_http
from vaultsync.backends.kube_http import KubeHttp
from vaultsync.sync import list_watch
from vaultsync.sync.secret_watch import DELETED, SecretChange, SecretWatch
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

WAIT = 30.0
MANAGED = {"app.kubernetes.io/managed-by": "vaultsync"}


@pytest.fixture
def namespace(kube: KubeControlPlane) -> Iterator[str]:
    core = client.CoreV1Api(kube.api_client())
    name = f"watch-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


class Recorder:
    """The watch's deliveries, and every raw event line its HTTP client decoded."""

    def __init__(self, http: KubeHttp) -> None:
        self.changes: queue.Queue[SecretChange] = queue.Queue()
        self.raw: list[dict[str, Any]] = []
        self.watches = 0
        real = http.watch

        def recording(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
            self.watches += 1
            for event in real(*args, **kwargs):
                self.raw.append(event)
                yield event

        http.watch = recording  # type: ignore[method-assign]

    def next(self, name: str) -> SecretChange:
        """The next change of Secret ``name`` (others are skipped)."""
        while True:
            change = self.changes.get(timeout=WAIT)
            if change.name == name:
                return change


def _secret(name: str, labels: dict[str, str] | None = None) -> client.V1Secret:
    return client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, labels=labels, annotations={"vaultsync.io/owner": "ns/app"}),
        string_data={"password": "watched-but-never-sent"},
    )


def test_changes_arrive_in_order_with_metadata_and_never_data(kube: KubeControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    core.create_namespaced_secret(namespace, _secret("before"))
    http = operator_http(kube)
    recorder = Recorder(http)
    watch = SecretWatch(http, [namespace], recorder.changes.put)
    watch.start()
    try:
        listed = recorder.next("before")
        assert (listed.type, listed.annotations) == ("ADDED", {"vaultsync.io/owner": "ns/app"})
        core.create_namespaced_secret(namespace, _secret("target", MANAGED))
        added = recorder.next("target")
        assert (added.type, added.labels) == ("ADDED", MANAGED)
        core.patch_namespaced_secret("target", namespace, {"stringData": {"password": "edited-not-sent"}})
        modified = recorder.next("target")
        assert modified.type == "MODIFIED"
        assert int(modified.resource_version) > int(added.resource_version)
        core.delete_namespaced_secret("target", namespace)
        assert recorder.next("target").type == DELETED
    finally:
        watch.stop()
    assert recorder.raw, "the watch saw events"
    assert all("data" not in (event.get("object") or {}) for event in recorder.raw)
    assert all(
        (event.get("object") or {}).get("kind") == "PartialObjectMetadata"
        for event in recorder.raw
        if event.get("type") != "BOOKMARK"
    )
    assert "watched-but-never-sent" not in repr(recorder.raw)


def test_a_watch_the_server_ends_is_resumed_without_a_new_list(
    kube: KubeControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(list_watch, "WATCH_SECONDS", 1)
    http = operator_http(kube)
    recorder = Recorder(http)
    lists = []
    real_request = http.request

    def counting(method: str, path: str, **kwargs: Any) -> Any:
        lists.append(path)
        return real_request(method, path, **kwargs)

    http.request = counting  # type: ignore[method-assign]
    watch = SecretWatch(http, [namespace], recorder.changes.put)
    watch.start()
    core = client.CoreV1Api(kube.api_client())
    try:
        for i in range(3):
            core.create_namespaced_secret(namespace, _secret(f"s{i}"))
            assert recorder.next(f"s{i}").type == "ADDED"
            threading.Event().wait(1.5)  # longer than the server keeps a watch open
    finally:
        watch.stop()
    assert recorder.watches >= 3, "the server ended each watch"
    assert len(lists) == 1, "the watch resumed from its last resourceVersion each time"


def test_a_list_reports_the_known_secrets_that_are_gone(kube: KubeControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(kube.api_client())
    core.create_namespaced_secret(namespace, _secret("still-here", MANAGED))
    known = {(namespace, "still-here"): "ns/app", (namespace, "gone"): "ns/app", ("elsewhere", "x"): "o/x"}
    http = operator_http(kube)
    recorder = Recorder(http)
    watch = SecretWatch(http, [namespace], recorder.changes.put, lambda: known)
    watch.start()
    try:
        gone = recorder.next("gone")
    finally:
        watch.stop()
    assert gone.type == DELETED
    assert gone.labels == MANAGED
    assert gone.annotations == {"vaultsync.io/owner": "ns/app"}, "its owner checks it again"


def test_stop_ends_a_watch_that_is_refused_and_retrying(kube: KubeControlPlane) -> None:
    http = operator_http(kube, "dave")  # may not list Secrets
    watch = SecretWatch(http, ["default"], lambda change: None)
    watch.start()
    watch.stop()
    assert not any(thread.is_alive() for thread in watch._loops._threads)


def test_stop_ends_an_open_watch(kube: KubeControlPlane, namespace: str) -> None:
    http = operator_http(kube)
    recorder = Recorder(http)
    watch = SecretWatch(http, [namespace], recorder.changes.put)
    watch.start()
    client.CoreV1Api(kube.api_client()).create_namespaced_secret(namespace, _secret("open"))
    recorder.next("open")  # the watch is open now
    watch.stop()
    assert not any(thread.is_alive() for thread in watch._loops._threads)


def test_a_watch_cut_mid_stream_resumes_after_its_last_event_and_replays_nothing(
    kube: KubeControlPlane, namespace: str
) -> None:
    core = client.CoreV1Api(kube.api_client())
    http = operator_http(kube)
    recorder = Recorder(http)
    watch = SecretWatch(http, [namespace], recorder.changes.put)
    watch.start()
    seen = []
    try:
        for i in range(3):
            core.create_namespaced_secret(namespace, _secret(f"cut{i}"))
            seen.append(recorder.next(f"cut{i}"))
            with watch._loops._lock:
                open_now = list(watch._loops._open)
            for response in open_now:
                response.shutdown()  # the connection drops, as when an apiserver restarts
        core.create_namespaced_secret(namespace, _secret("after"))
        seen.append(recorder.next("after"))
        while not recorder.changes.empty():
            seen.append(recorder.changes.get())
    finally:
        watch.stop()
    assert recorder.watches >= 3, "each cut opened a new watch"
    versions = [(change.name, change.resource_version) for change in seen]
    assert len(versions) == len(set(versions)), f"an event was delivered twice: {versions}"
