"""ManagedSecrets outside kopf, on a real kube-apiserver: the feed hands whole objects to the event
loop, the finalizer queue holds a deletion until its work is done (retrying when asked, never
while another replica leads), and events are posted by the operator itself. Parts of the
operator run in this process; the session operator is stopped meanwhile."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from operator_kube import operator_http
from vaultsync.api.names import GROUP, VERSION
from vaultsync.sync.event_poster import MAX_MESSAGE_LENGTH, EventPoster
from vaultsync.sync.finalizing import Finalizers, RetryLater
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.list_watch import DELETED, Key, WatchedResource
from vaultsync.sync.object_feed import ObjectFeed
from vaultsync.sync.scheduler import run_in
from vaultsync_devstack.kube import KubeControlPlane

# The session operator watches every namespace: it would add, and act on, the finalizer too.
pytestmark = pytest.mark.usefixtures("session_operator_paused")

PLURAL = "managedsecrets"
FINALIZER = "vaultsync.io/finalizer"
WAIT = 30.0


@pytest.fixture
def namespace(kube: KubeControlPlane, crds: None) -> Iterator[str]:
    core = client.CoreV1Api(kube.api_client())
    name = f"feed-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    custom = client.CustomObjectsApi(kube.api_client())
    for item in custom.list_namespaced_custom_object(GROUP, VERSION, name, PLURAL)["items"]:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, name, PLURAL, item["metadata"]["name"], {"metadata": {"finalizers": None}}
        )
    core.delete_namespace(name)


def _managed_secret(name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ManagedSecret",
        "metadata": {"name": name, "finalizers": finalizers or []},
        "spec": {"type": "basic-auth", "source": {"vaultProfile": {"name": "vault"}, "path": "apps/db"}},
    }


def _finalizers(body: dict[str, Any]) -> list[str]:
    return list(body["metadata"].get("finalizers") or [])


class Feed:
    """The feed of one namespace, running in this test's event loop; what reached the loop."""

    def __init__(self, kube: KubeControlPlane, namespace: str) -> None:
        self.http = operator_http(kube)
        self.kube = KubeApi(self.http)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.relists: list[set[Key]] = []
        self.on_event: Callable[[str, dict[str, Any]], None] = lambda kind, body: None
        resource = WatchedResource(
            "ManagedSecrets", lambda ns: f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"
        )
        self._namespace = namespace
        self._resource = resource
        self.feed: ObjectFeed | None = None

    def start(self) -> None:
        def event(kind: str, body: dict[str, Any]) -> None:
            self.events.append((kind, body))
            self.on_event(kind, body)

        self.feed = ObjectFeed(
            self.http,
            self._resource,
            [self._namespace],
            loop=asyncio.get_running_loop(),
            on_event=event,
            on_relisted=lambda namespace, keys: self.relists.append(keys),
        )
        self.feed.start()

    async def stop(self) -> None:
        if self.feed is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.feed.stop)


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def test_feed_delivers_whole_objects_listed_then_watched(kube: KubeControlPlane, namespace: str) -> None:
    custom = client.CustomObjectsApi(kube.api_client())
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _managed_secret("listed"))

    async def test() -> None:
        feed = Feed(kube, namespace)
        feed.start()
        try:
            await _until(lambda: feed.relists == [{(namespace, "listed")}], "the first list")
            assert [(k, b["metadata"]["name"]) for k, b in feed.events] == [("ADDED", "listed")]
            assert feed.events[0][1]["spec"]["source"]["path"] == "apps/db", "whole objects, spec included"
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _managed_secret("new"))
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, "new", {"spec": {"refreshInterval": "5m"}}
            )
            custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "new")
            await _until(lambda: len(feed.events) == 4, "three watch events")
            assert [(k, b["metadata"]["name"]) for k, b in feed.events[1:]] == [
                ("ADDED", "new"),
                ("MODIFIED", "new"),
                (DELETED, "new"),
            ]
            assert feed.events[2][1]["spec"]["refreshInterval"] == "5m"
        finally:
            await feed.stop()

    _run(test)


class Deletion:
    """A finalizer queue whose work is scripted: each call pops the next outcome."""

    def __init__(self, feed: Feed, outcomes: list[RetryLater | None], leading: list[bool]) -> None:
        self.calls = 0
        self.retries: list[str] = []
        self._outcomes = outcomes

        async def finalize(body: dict[str, Any]) -> None:
            self.calls += 1
            outcome = self._outcomes.pop(0)
            if outcome is not None:
                raise outcome

        self.finalizers = Finalizers(
            feed.kube,
            plural=PLURAL,
            finalizer=FINALIZER,
            finalize=finalize,
            leading=lambda: leading[0],
            run=lambda fn, *args: run_in(None, fn, *args),  # type: ignore[arg-type]
            on_retry=lambda body, message: self.retries.append(message),
        )

        def route(kind: str, body: dict[str, Any]) -> None:
            owner = f"{body['metadata']['namespace']}/{body['metadata']['name']}"
            if kind != DELETED and self.finalizers.deleting(body):
                self.finalizers.observe(body)
            elif kind == DELETED or body["metadata"].get("deletionTimestamp"):
                self.finalizers.forget(owner)
            else:
                self.finalizers.ensure(body)

        feed.on_event = route


def test_deletion_waits_for_the_work_retrying_as_asked_then_the_object_goes(
    kube: KubeControlPlane, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube.api_client())
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _managed_secret("app"))

    async def test() -> None:
        feed = Feed(kube, namespace)
        waits = RetryLater("deletion waits for approval", 0.2)
        deletion = Deletion(feed, [waits, RetryLater(str(waits), 0.2), None], [True])
        feed.start()
        try:
            # Created without the admission webhook: the queue adds the finalizer.
            await _until(
                lambda: any(FINALIZER in (b["metadata"].get("finalizers") or []) for _, b in feed.events),
                "finalizer",
            )
            custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "app")
            await _until(lambda: feed.events[-1][0] == DELETED, "the object gone")
            assert deletion.calls == 3, "run until it returned, once per retry"
            assert deletion.retries == ["deletion waits for approval"], "the same reason is reported once"
            assert deletion.finalizers.pending() == []
        finally:
            await deletion.finalizers.stop()
            await feed.stop()

    _run(test)


def test_a_replica_that_does_not_lead_never_runs_the_deletion(kube: KubeControlPlane, namespace: str) -> None:
    custom = client.CustomObjectsApi(kube.api_client())
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _managed_secret("held", [FINALIZER, "example.com/other"])
    )

    async def test() -> None:
        feed = Feed(kube, namespace)
        leading = [False]
        deletion = Deletion(feed, [None], leading)
        feed.start()
        try:
            custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "held")
            await _until(
                lambda: deletion.finalizers.pending() == [f"{namespace}/held"], "the deletion queued"
            )
            # Leadership is asked at each run; the counter proves runs happened while not leading.
            polls = 0

            def counted() -> bool:
                nonlocal polls
                polls += 1
                return leading[0]

            deletion.finalizers._leading = counted  # type: ignore[attr-defined]
            await _until(lambda: polls >= 2, "two runs while another replica leads")
            assert deletion.calls == 0
            leading[0] = True
            await _until(lambda: deletion.calls == 1, "the run once leading")
            await _until(
                lambda: feed.events[-1][1]["metadata"].get("finalizers") == ["example.com/other"],
                "only its own finalizer removed",
            )
        finally:
            await deletion.finalizers.stop()
            await feed.stop()

    _run(test)


def test_events_are_posted_about_the_object_with_long_messages_shortened(
    kube: KubeControlPlane, namespace: str
) -> None:
    custom = client.CustomObjectsApi(kube.api_client())
    body = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _managed_secret("told"))
    core = client.CoreV1Api(kube.api_client())

    def posted() -> list[Any]:
        selector = "involvedObject.name=told"
        return list(core.list_namespaced_event(namespace, field_selector=selector).items)

    async def test() -> None:
        kube_api = KubeApi(operator_http(kube))
        poster = EventPoster(kube_api)
        poster.start()
        try:
            poster.info(body, "Synced", "first")
            poster.warn(body, "SyncFailed", "x" * 5000)
            await _until(lambda: len(posted()) == 2, "two events")
        finally:
            await poster.stop()
        events = {e.reason: e for e in posted()}
        assert {(e.type, e.reason) for e in events.values()} == {
            ("Normal", "Synced"),
            ("Warning", "SyncFailed"),
        }
        assert events["Synced"].message == "first"
        shortened = events["SyncFailed"].message
        assert len(shortened) <= MAX_MESSAGE_LENGTH
        assert "..." in shortened
        assert events["Synced"].involved_object.uid == body["metadata"]["uid"]
        assert events["Synced"].source.component == "vaultsync"
        assert kube_api.writes["post/events"] == 2

    _run(test)
