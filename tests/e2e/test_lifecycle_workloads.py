"""End to end: the lifecycle of a secret as workloads see it.

Deactivate / reactivate, templates with references, consumers ("where used") and rollout
restarts, against the real apiserver, OpenBao and moto. There is no kubelet: workloads are API
objects whose pod templates name the Secrets, which is what vaultsync reads.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from e2e.conftest import METRICS_PORT
from e2e.scenario import (
    assert_no_leak,
    aws_document,
    bao_write,
    condition,
    create_gated_profile,
    operator_ran_syncs,
    operator_worked_on,
    phase_is,
    posted,
    secret_exists,
    status_of,
    target_states,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]

RESTARTED_AT = "vaultsync.io/restartedAt"


class Workloads:
    """Creates workload objects whose pod templates use Secrets in the given ways."""

    def __init__(self, cluster: Cluster) -> None:
        api = cluster.kube.api_client()
        self.namespace = cluster.namespace
        self.apps = client.AppsV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    @staticmethod
    def pod_spec(
        env: str | None = None,
        env_from: str | None = None,
        volume: str | None = None,
        projected: str | None = None,
    ) -> dict[str, Any]:
        container: dict[str, Any] = {"name": "app", "image": "registry.invalid/app:1"}
        if env:
            container["env"] = [
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": env, "key": "password"}}}
            ]
        if env_from:
            container["envFrom"] = [{"secretRef": {"name": env_from}}]
        volumes = []
        if volume:
            volumes.append({"name": "creds", "secret": {"secretName": volume}})
        if projected:
            volumes.append({"name": "bundle", "projected": {"sources": [{"secret": {"name": projected}}]}})
        return {"containers": [container], "volumes": volumes, "restartPolicy": "Always"}

    def _template(self, name: str, pod_spec: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"labels": {"app": name}}, "spec": pod_spec}

    def deployment(self, name: str, pod_spec: dict[str, Any], paused: bool = False) -> dict[str, Any]:
        body = {
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": self._template(name, pod_spec),
                "paused": paused,
            },
        }
        created = self.apps.create_namespaced_deployment(self.namespace, body)
        return dict(created.to_dict())

    def stateful_set(self, name: str, pod_spec: dict[str, Any]) -> None:
        spec = {
            "selector": {"matchLabels": {"app": name}},
            "serviceName": name,
            "template": self._template(name, pod_spec),
        }
        self.apps.create_namespaced_stateful_set(self.namespace, {"metadata": {"name": name}, "spec": spec})

    def daemon_set(self, name: str, pod_spec: dict[str, Any]) -> None:
        spec = {"selector": {"matchLabels": {"app": name}}, "template": self._template(name, pod_spec)}
        self.apps.create_namespaced_daemon_set(self.namespace, {"metadata": {"name": name}, "spec": spec})

    def job(self, name: str, pod_spec: dict[str, Any]) -> None:
        template = {"spec": {**pod_spec, "restartPolicy": "Never"}}
        self.batch.create_namespaced_job(
            self.namespace, {"metadata": {"name": name}, "spec": {"template": template}}
        )

    def cron_job(self, name: str, pod_spec: dict[str, Any]) -> None:
        template = {"spec": {**pod_spec, "restartPolicy": "Never"}}
        spec = {"schedule": "0 3 1 1 *", "jobTemplate": {"spec": {"template": template}}}
        self.batch.create_namespaced_cron_job(self.namespace, {"metadata": {"name": name}, "spec": spec})

    def pod(self, name: str, pod_spec: dict[str, Any], owner: dict[str, Any] | None = None) -> None:
        metadata: dict[str, Any] = {"name": name}
        if owner:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                }
            ]
        self.core.create_namespaced_pod(self.namespace, {"metadata": metadata, "spec": pod_spec})

    def restarted_at(self, kind: str, name: str) -> str | None:
        read = {
            "Deployment": self.apps.read_namespaced_deployment,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
            "DaemonSet": self.apps.read_namespaced_daemon_set,
        }[kind]
        annotations = read(name, self.namespace).spec.template.metadata.annotations or {}
        value = annotations.get(RESTARTED_AT)
        return str(value) if value else None


def _reasons(cluster: Cluster, name: str, kind: str | None = None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in cluster.events(name):
        if kind is None or event.involved_object.kind == kind:
            found.setdefault(event.reason, []).append(event.message or "")
    return found


def _basic_auth(source: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "basic-auth",
        "source": {"vaultProfile": {"name": "bao"}, "path": source},
        "refreshInterval": "2s",
        **extra,
    }


def _status_still(cluster: Cluster, name: str, activity: Callable[[], None]) -> bool:
    """True when the ManagedSecret is not written while ``activity`` proves the operator at work."""
    before = cluster.get("managedsecrets", name)["metadata"]["resourceVersion"]
    activity()
    return bool(cluster.get("managedsecrets", name)["metadata"]["resourceVersion"] == before)


def test_deactivate_removes_secrets_loudly_and_reactivate_restores_them(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    password = unique_value("deactivate")
    source, aws_path = f"e2e/{cluster.namespace}/db", f"e2e/{cluster.namespace}/db-copy"
    bao_write(openbao, source, {"username": "app", "password": password})
    workloads = Workloads(cluster)
    workloads.deployment("web", Workloads.pod_spec(env="db-creds"))
    spec = _basic_auth(
        source,
        syncTargets=[{"vaultProfile": {"name": "aws"}, "path": aws_path}],
        kubernetesSecrets=[{"name": "db-creds"}],
    )
    cluster.create("managedsecrets", "db", spec)
    wait_for(lambda: phase_is(cluster, "db", "Synced", 1), 60, "version 1 Synced")
    wait_for(lambda: status_of(cluster, "db").get("consumers"), 30, "the Deployment listed as consumer")

    cluster.patch("managedsecrets", "db", {"spec": {"state": "Inactive"}})
    status = wait_for(lambda: phase_is(cluster, "db", "Inactive"), 60, "phase Inactive")
    assert not secret_exists(cluster, "db-creds"), "the Kubernetes Secret is removed while Inactive"
    ready = condition(status, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Inactive")
    assert target_states(status) == {
        f"{cluster.namespace}/aws:{aws_path}": "Retained",
        f"{cluster.namespace}/db-creds": "Deleted",
    }
    assert aws_document(moto, aws_path)["password"] == password, (
        "AWS cannot disable: the copy is left untouched"
    )
    removed = posted(cluster, "db", "SecretRemoved")
    assert "Inactive" in removed[0]
    assert "Deployment web" in removed[0]
    on_workload = posted(cluster, "web", "SecretDeactivated", kind="Deployment")
    for expected_text in ("db-creds", f"{cluster.namespace}/db", "Inactive"):
        assert expected_text in on_workload[0]
    # An Inactive secret is synced (deactivation re-checked) every refresh, without vault calls.
    assert _status_still(cluster, "db", lambda: operator_ran_syncs(METRICS_PORT, count=3)), (
        "an Inactive secret in steady state patches nothing"
    )
    assert len(_reasons(cluster, "db")["SecretRemoved"]) == 1, "the removal is reported once"

    cluster.patch("managedsecrets", "db", {"spec": {"state": "Active"}})
    status = wait_for(lambda: phase_is(cluster, "db", "Synced"), 60, "Synced again")
    assert status["currentVersion"] == 1, "reactivation restores the same version"
    assert cluster.secret_data("db-creds") == {"username": "app", "password": password}
    assert set(target_states(status).values()) == {"Synced"}
    posted(cluster, "db", "Reactivated")
    assert_no_leak(cluster, operator, ["db", "web"], [password])


def test_templates_render_references_rerender_on_change_and_fail_without_writing(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    db_v1, db_v2, api_key = unique_value("db-v1"), unique_value("db-v2"), unique_value("api-key")
    db_source, app_source = f"e2e/{cluster.namespace}/db", f"e2e/{cluster.namespace}/app"
    bao_write(openbao, db_source, {"username": "app", "password": db_v1})
    bao_write(openbao, app_source, {"apiKey": api_key})
    cluster.create("managedsecrets", "db", _basic_auth(db_source))
    workloads = Workloads(cluster)
    workloads.deployment("payments", Workloads.pod_spec(env_from="app-config"))
    template = {
        "DATABASE_URL": "postgres://{{ SECRETS.db.username }}:{{ SECRETS.db.password }}@db:5432/app",
        "API_KEY": "{{ secret.apiKey }}",
    }
    restart = [{"kind": "Deployment", "name": "payments"}]
    cluster.create(
        "managedsecrets",
        "app",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "bao"}, "path": app_source},
            "references": ["db"],
            "kubernetesSecrets": [{"name": "app-config", "template": template, "rolloutRestart": restart}],
            "refreshInterval": "2s",
        },
    )
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "app Synced")
    assert workloads.restarted_at("Deployment", "payments") is None
    assert cluster.secret_data("app-config") == {
        "DATABASE_URL": f"postgres://app:{db_v1}@db:5432/app",
        "API_KEY": api_key,
    }, "the Secret holds exactly the rendered keys"

    bao_write(openbao, db_source, {"username": "app", "password": db_v2})
    wait_for(lambda: phase_is(cluster, "db", "Synced", 2), 60, "the referenced secret's version 2")
    wait_for(
        lambda: db_v2 in cluster.secret_data("app-config")["DATABASE_URL"], 30, "the dependent re-rendered"
    )
    assert status_of(cluster, "app")["currentVersion"] == 1, "a re-render is not a new version of app"
    assert "DriftCorrected" not in _reasons(cluster, "app"), "a re-render is not reported as drift"
    restarted = wait_for(
        lambda: workloads.restarted_at("Deployment", "payments"), 30, "a re-render restarts the consumer"
    )

    cluster.core.patch_namespaced_secret(
        "app-config", cluster.namespace, {"stringData": {"API_KEY": "tampered"}}
    )
    wait_for(lambda: cluster.secret_data("app-config")["API_KEY"] == api_key, 30, "templated drift repaired")
    # The event is posted after the whole sync, restarts included: the window is closed.
    wait_for(lambda: "DriftCorrected" in _reasons(cluster, "app"), 30, "the repair's sync done")
    operator_worked_on(METRICS_PORT, cluster.namespace)
    assert workloads.restarted_at("Deployment", "payments") == restarted, "a drift repair restarts nothing"

    cluster.patch("managedsecrets", "db", {"spec": {"state": "Inactive"}})
    status = wait_for(
        lambda: phase_is(cluster, "app", "Failed"), 60, "a dependent of an Inactive secret fails"
    )
    assert f"ManagedSecret {cluster.namespace}/db is Inactive" in condition(status, "Ready")["message"]
    cluster.patch("managedsecrets", "db", {"spec": {"state": "Active"}})
    wait_for(lambda: phase_is(cluster, "app", "Synced"), 60, "the dependent recovers when it is Active again")

    before = cluster.secret_data("app-config")
    broken = {**template, "BROKEN": "{{ secret.apiKey }}-{{ secret.missingField }}"}
    cluster.patch(
        "managedsecrets", "app", {"spec": {"kubernetesSecrets": [{"name": "app-config", "template": broken}]}}
    )
    status = wait_for(lambda: phase_is(cluster, "app", "Failed"), 60, "phase Failed on the template error")
    ready = condition(status, "Ready")
    assert ready["reason"] == "TemplateFailed"
    assert "'BROKEN'" in ready["message"], ready["message"]
    assert "missingField" in ready["message"], ready["message"]
    posted(cluster, "app", "TemplateFailed")
    assert cluster.secret_data("app-config") == before, "a failing template writes nothing"
    assert_no_leak(cluster, operator, ["app", "db"], [db_v1, db_v2, api_key])


def test_consumers_follow_workloads_and_where_used_prints_them(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    source = f"e2e/{cluster.namespace}/shared"
    bao_write(openbao, source, {"username": "app", "password": unique_value("shared")})
    workloads = Workloads(cluster)
    web = workloads.deployment("web", Workloads.pod_spec(env="shared-a"))
    workloads.stateful_set("store", Workloads.pod_spec(volume="shared-b"))
    workloads.daemon_set("agent", Workloads.pod_spec(projected="shared-a"))
    workloads.job("migrate", Workloads.pod_spec(env_from="shared-a"))
    workloads.cron_job("nightly", Workloads.pod_spec(volume="shared-b"))
    workloads.pod("debug", Workloads.pod_spec(env="shared-b"))
    workloads.pod("web-replica", Workloads.pod_spec(env="shared-a"), owner=web)
    workloads.deployment("unrelated", Workloads.pod_spec(env="someone-else"))
    cluster.create(
        "managedsecrets",
        "shared",
        _basic_auth(source, kubernetesSecrets=[{"name": "shared-a"}, {"name": "shared-b"}]),
    )
    ns = cluster.namespace
    expected = [
        {"kind": "CronJob", "namespace": ns, "name": "nightly", "secret": "shared-b"},
        {"kind": "DaemonSet", "namespace": ns, "name": "agent", "secret": "shared-a"},
        {"kind": "Deployment", "namespace": ns, "name": "web", "secret": "shared-a"},
        {"kind": "Job", "namespace": ns, "name": "migrate", "secret": "shared-a"},
        {"kind": "Pod", "namespace": ns, "name": "debug", "secret": "shared-b"},
        {"kind": "StatefulSet", "namespace": ns, "name": "store", "secret": "shared-b"},
    ]
    wait_for(
        lambda: status_of(cluster, "shared").get("consumers") == expected, 60, "every consumer listed, sorted"
    )
    # Once the list has settled (workload events of the set-up may still wake one more sync),
    # a stable consumer list patches nothing.
    # In steady state no sync runs: the refreshes' vault listings are the operator's activity.
    wait_for(
        lambda: _status_still(cluster, "shared", lambda: operator_worked_on(METRICS_PORT, cluster.namespace)),
        120,
        "a stable consumer list patches nothing",
    )

    workloads.apps.delete_namespaced_deployment("web", ns)
    workloads.deployment("late", Workloads.pod_spec(volume="shared-b"))
    changed = [c for c in expected if c["name"] != "web"] + [
        {"kind": "Deployment", "namespace": ns, "name": "late", "secret": "shared-b"}
    ]
    changed.sort(key=lambda c: (c["kind"], c["namespace"], c["name"], c["secret"]))
    wait_for(
        lambda: status_of(cluster, "shared").get("consumers") == changed,
        30,
        "consumers follow workload changes",
    )

    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaultsync",
            "where-used",
            "shared",
            "-n",
            ns,
            "--kubeconfig",
            str(cluster.kube.kubeconfig),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    lines = [line.split() for line in printed.stdout.splitlines()]
    assert lines[0] == ["KIND", "NAMESPACE", "NAME", "SECRET"]
    assert lines[1:] == [[c["kind"], c["namespace"], c["name"], c["secret"]] for c in changed], printed.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaultsync",
            "where-used",
            "nope",
            "-n",
            ns,
            "--kubeconfig",
            str(cluster.kube.kubeconfig),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1
    assert f"ManagedSecret {ns}/nope not found" in missing.stderr


def test_rollout_restart_after_a_new_version_only(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    v1, v2 = unique_value("rollout-v1"), unique_value("rollout-v2")
    source = f"e2e/{cluster.namespace}/api"
    bao_write(openbao, source, {"username": "api", "password": v1})
    workloads = Workloads(cluster)
    workloads.deployment("web", Workloads.pod_spec(env="api-creds"))
    workloads.stateful_set("store", Workloads.pod_spec(volume="api-creds"))
    workloads.daemon_set("agent", Workloads.pod_spec(env_from="api-creds"))
    workloads.deployment("frozen", Workloads.pod_spec(env="api-creds"), paused=True)
    restart = [
        {"kind": "Deployment", "name": "web"},
        {"kind": "StatefulSet", "name": "store"},
        {"kind": "DaemonSet", "name": "agent"},
        {"kind": "Deployment", "name": "frozen"},
    ]
    cluster.create(
        "managedsecrets",
        "api",
        _basic_auth(source, kubernetesSecrets=[{"name": "api-creds", "rolloutRestart": restart}]),
    )
    wait_for(lambda: phase_is(cluster, "api", "Synced", 1), 60, "version 1 Synced")
    kinds = [("Deployment", "web"), ("StatefulSet", "store"), ("DaemonSet", "agent")]
    assert all(workloads.restarted_at(k, n) is None for k, n in [*kinds, ("Deployment", "frozen")]), (
        "the first creation of the Secret restarts nothing"
    )

    bao_write(openbao, source, {"username": "api", "password": v2})
    status = wait_for(lambda: phase_is(cluster, "api", "Synced", 2), 60, "version 2 Synced")
    stamps = {
        n: wait_for(lambda k=k, n=n: workloads.restarted_at(k, n), 30, f"{k} {n} restarted") for k, n in kinds
    }
    assert workloads.restarted_at("Deployment", "frozen") is None, "a paused Deployment is not forced"
    message = status["targets"][0].get("message") or ""
    assert "frozen" in message, status["targets"]
    assert "paused" in message, status["targets"]
    restarted = posted(cluster, "api", "RolloutRestarted", 3)
    assert all("api-creds" in m for m in restarted)
    posted(cluster, "web", "RolloutRestarted", kind="Deployment")
    posted(cluster, "frozen", "RolloutSkipped", kind="Deployment")
    assert any("frozen" in m for m in posted(cluster, "api", "RolloutSkipped"))
    cluster.patch(
        "managedsecrets", "api", {"metadata": {"annotations": {"vaultsync.io/refresh-requested-at": "now"}}}
    )
    operator_worked_on(METRICS_PORT, cluster.namespace)
    kept = status_of(cluster, "api")["targets"][0].get("message") or ""
    assert "frozen" in kept, "the paused workload stays reported until the Secret is written again"

    # Counted before the edit: the operator watches the Secret and may repair it (and post the
    # event) before this test's next request.
    drift_events = len(_reasons(cluster, "api").get("DriftCorrected", []))
    cluster.core.patch_namespaced_secret(
        "api-creds", cluster.namespace, {"stringData": {"password": "tampered"}}
    )
    wait_for(lambda: cluster.secret_data("api-creds")["password"] == v2, 30, "drift repaired")
    # The event is posted after the whole sync, restarts included: the window is closed.
    wait_for(
        lambda: len(_reasons(cluster, "api").get("DriftCorrected", [])) > drift_events,
        30,
        "the repair's sync",
    )
    operator_worked_on(METRICS_PORT, cluster.namespace)
    assert {n: workloads.restarted_at(k, n) for k, n in kinds} == stamps, "a drift repair restarts nothing"
    assert_no_leak(cluster, operator, ["api", "web", "frozen"], [v1, v2])


def test_a_referenced_change_waiting_for_approval_never_reaches_a_template(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    approved, pending = unique_value("approved"), unique_value("pending")
    db_source, app_source = f"e2e/{cluster.namespace}/gated-db", f"e2e/{cluster.namespace}/gated-app"
    create_gated_profile(cluster, openbao)
    bao_write(openbao, db_source, {"username": "app", "password": approved})
    bao_write(openbao, app_source, {"apiKey": unique_value("key")})
    cluster.create(
        "managedsecrets",
        "db",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao-gated"}, "path": db_source},
            "refreshInterval": "2s",
        },
    )
    cluster.create(
        "managedsecrets",
        "app",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "bao"}, "path": app_source},
            "references": ["db"],
            "kubernetesSecrets": [
                {"name": "app-config", "template": {"DB_PASSWORD": "{{ SECRETS.db.password }}"}}
            ],
            "refreshInterval": "2s",
        },
    )
    wait_for(lambda: phase_is(cluster, "app", "Synced", 1), 60, "app Synced with the approved content")
    assert cluster.secret_data("app-config") == {"DB_PASSWORD": approved}

    bao_write(openbao, db_source, {"username": "app", "password": pending})
    wait_for(
        lambda: phase_is(cluster, "db", "PendingApproval"), 60, "the referenced change waits for approval"
    )
    cluster.patch(
        "managedsecrets", "app", {"metadata": {"annotations": {"vaultsync.io/refresh-requested-at": "now"}}}
    )
    status = wait_for(
        lambda: phase_is(cluster, "app", "Failed"), 60, "the dependent waits instead of rendering"
    )
    assert "waiting until it has synced" in condition(status, "Ready")["message"]
    assert cluster.secret_data("app-config") == {"DB_PASSWORD": approved}, (
        "unapproved content never reaches it"
    )
    assert_no_leak(cluster, operator, ["app", "db"], [approved, pending])
