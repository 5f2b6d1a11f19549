"""Which workloads use which Secrets: every reference form, every workload kind, stable status."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from typed_spec import typed_spec
from vaultsync.backends.errors import Unavailable
from vaultsync.cli_where_used import format_consumers
from vaultsync.reconcile.consumers import Consumer, WorkloadRef, consumers_status, secrets_used_by
from vaultsync.sync.consumer_index import ConsumerIndex, consumers_field

ENV = {"name": "app", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}}]}
ENV_FROM = {
    "name": "app",
    "envFrom": [{"secretRef": {"name": "s-envfrom"}}, {"configMapRef": {"name": "cm"}}],
}
VOLUME = {"name": "v", "secret": {"secretName": "s-volume"}}
PROJECTED = {
    "name": "p",
    "projected": {"sources": [{"secret": {"name": "s-projected"}}, {"configMap": {"name": "cm"}}]},
}


def _pod_spec(**parts: Any) -> dict[str, Any]:
    return {"containers": [{"name": "plain", "image": "x"}], **parts}


def _workload(kind: str, pod_spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    template = {"spec": pod_spec}
    spec: dict[str, Any] = {
        "Deployment": {"template": template},
        "StatefulSet": {"template": template},
        "DaemonSet": {"template": template},
        "Job": {"template": template},
        "CronJob": {"jobTemplate": {"spec": {"template": template}}},
        "Pod": pod_spec,
    }[kind]
    return {"kind": kind, "metadata": {"name": "w", **metadata}, "spec": spec}


KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"]

REFERENCES = [
    pytest.param(_pod_spec(containers=[ENV]), {"s-env"}, id="env-secretKeyRef"),
    pytest.param(_pod_spec(containers=[ENV_FROM]), {"s-envfrom"}, id="envFrom-secretRef"),
    pytest.param(_pod_spec(initContainers=[ENV]), {"s-env"}, id="init-container"),
    pytest.param(_pod_spec(ephemeralContainers=[ENV_FROM]), {"s-envfrom"}, id="ephemeral-container"),
    pytest.param(_pod_spec(volumes=[VOLUME]), {"s-volume"}, id="secret-volume"),
    pytest.param(_pod_spec(volumes=[PROJECTED]), {"s-projected"}, id="projected-volume"),
    pytest.param(
        _pod_spec(containers=[ENV, ENV_FROM], volumes=[VOLUME, PROJECTED]),
        {"s-env", "s-envfrom", "s-volume", "s-projected"},
        id="all-forms",
    ),
    pytest.param(_pod_spec(volumes=[{"name": "e", "emptyDir": {}}]), set(), id="no-secret"),
    pytest.param({"containers": "not-a-list", "volumes": [None, 3]}, set(), id="malformed-is-ignored"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("pod_spec", "expected"), REFERENCES)
def test_every_reference_form_in_every_workload_kind(
    kind: str, pod_spec: dict[str, Any], expected: set[str]
) -> None:
    assert secrets_used_by(kind, _workload(kind, pod_spec)) == expected


CONTROLLED = [
    pytest.param("Pod", True, set(), id="pod-of-a-replicaset-is-not-a-consumer"),
    pytest.param("Pod", False, {"s-volume"}, id="bare-pod-is-a-consumer"),
    pytest.param("Job", True, set(), id="job-of-a-cronjob-is-not-a-consumer"),
    pytest.param("Deployment", True, {"s-volume"}, id="owned-deployment-still-counts"),
]


@pytest.mark.parametrize(("kind", "controlled", "expected"), CONTROLLED)
def test_controlled_pods_and_jobs_defer_to_their_controller(
    kind: str, controlled: bool, expected: set[str]
) -> None:
    owners = [{"kind": "X", "name": "x", "uid": "u", "apiVersion": "v1", "controller": controlled}]
    workload = _workload(kind, _pod_spec(volumes=[VOLUME]), ownerReferences=owners)
    assert secrets_used_by(kind, workload) == expected


def test_unknown_kind_uses_nothing() -> None:
    assert secrets_used_by("ReplicaSet", _workload("Deployment", _pod_spec(volumes=[VOLUME]))) == frozenset()


def test_index_follows_workload_changes_and_reports_touched_secrets() -> None:
    index = ConsumerIndex()
    web = WorkloadRef("Deployment", "ns", "web")
    assert index.update(web, frozenset({"a", "b"})) == {("ns", "a"), ("ns", "b")}
    assert index.update(web, frozenset({"a", "b"})) == set(), "an unchanged workload touches nothing"
    assert index.update(web, frozenset({"b", "c"})) == {("ns", "a"), ("ns", "c")}
    assert index.consumers_of([("ns", "a")]) == []
    assert index.consumers_of([("ns", "c"), ("other", "c")]) == [Consumer("Deployment", "ns", "web", "c")]
    assert index.forget(web) == {("ns", "b"), ("ns", "c")}
    assert index.consumers_of([("ns", "b"), ("ns", "c")]) == []


def test_owners_are_woken_only_for_their_secrets() -> None:
    index = ConsumerIndex()
    spec = typed_spec(kubernetesSecrets=[{"name": "db"}, {"name": "db", "namespace": "other"}])
    assert consumers_field(index, "ns/ms", "ns", spec) is None
    index.update(WorkloadRef("Pod", "other", "p"), frozenset({"db"}))
    assert consumers_field(index, "ns/ms", "ns", spec) == [
        {"kind": "Pod", "namespace": "other", "name": "p", "secret": "db"}
    ]
    assert index.owners_of([("other", "db")]) == {"ns/ms"}
    assert index.owners_of([("ns", "unrelated")]) == set()
    consumers_field(index, "ns/ms", "ns", typed_spec(kubernetesSecrets=[{"name": "db"}]))
    assert index.owners_of([("other", "db")]) == set(), "a removed target no longer wakes its old owner"


_consumers = st.builds(
    Consumer,
    st.sampled_from(KINDS),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["w1", "w2", "w3"]),
    st.sampled_from(["s1", "s2"]),
)


@given(st.lists(_consumers, max_size=20), st.randoms())
def test_status_is_sorted_and_independent_of_discovery_order(consumers: list[Consumer], rnd: Any) -> None:
    shuffled = list(consumers)
    rnd.shuffle(shuffled)
    status = consumers_status(consumers)
    assert status == consumers_status(shuffled)
    keys = [(c["kind"], c["namespace"], c["name"], c["secret"]) for c in status]
    assert keys == sorted(set(keys))


def test_where_used_prints_one_aligned_row_per_consumer() -> None:
    consumers = consumers_status(
        [Consumer("Pod", "ns", "debug", "db"), Consumer("Deployment", "ns", "web-frontend", "db")]
    )
    printed = format_consumers(consumers).splitlines()
    assert [line.split() for line in printed] == [
        ["KIND", "NAMESPACE", "NAME", "SECRET"],
        ["Deployment", "ns", "web-frontend", "db"],
        ["Pod", "ns", "debug", "db"],
    ]
    assert len({line.index("NAMESPACE") for line in printed[:1]} | {printed[1].index("ns")}) == 1


WEB = WorkloadRef("Deployment", "ns", "web")
JOB = WorkloadRef("Job", "ns", "migrate")


def test_seeding_lists_a_namespace_once_and_fills_the_index() -> None:
    calls: list[str] = []

    def lister(namespace: str) -> list[tuple[WorkloadRef, frozenset[str], str | None]]:
        calls.append(namespace)
        return [(WEB, frozenset({"db"}), "uid-web"), (JOB, frozenset(), None)]

    index = ConsumerIndex(lister)
    spec = typed_spec(kubernetesSecrets=[{"name": "db"}])
    assert consumers_field(index, "ns/ms", "ns", spec) == [
        {"kind": "Deployment", "namespace": "ns", "name": "web", "secret": "db"}
    ]
    consumers_field(index, "ns/ms", "ns", spec)
    assert calls == ["ns"], "a namespace is listed once; watch events keep it current afterwards"


def test_a_watch_event_during_seeding_wins_over_the_listing() -> None:
    def lister(namespace: str) -> list[tuple[WorkloadRef, frozenset[str], str | None]]:
        index.forget(WEB)  # the Deployment is deleted while the (older) listing is on its way
        return [(WEB, frozenset({"db"}), "uid-web")]

    index = ConsumerIndex(lister)
    index.seed(["ns"])
    assert index.consumers_of([("ns", "db")]) == []


def test_a_failed_listing_is_retried_at_the_next_sync() -> None:
    attempts: list[str] = []

    def lister(namespace: str) -> list[tuple[WorkloadRef, frozenset[str], str | None]]:
        attempts.append(namespace)
        if len(attempts) == 1:
            raise Unavailable("listing Deployments in ns failed: HTTP 503")
        return [(WEB, frozenset({"db"}), None)]

    index = ConsumerIndex(lister)
    index.seed(["ns"])
    assert index.consumers_of([("ns", "db")]) == []
    index.seed(["ns"])
    assert index.consumers_of([("ns", "db")]) == [Consumer("Deployment", "ns", "web", "db")]
    assert attempts == ["ns", "ns"]
