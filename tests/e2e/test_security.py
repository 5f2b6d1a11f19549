"""Attacks on the namespace boundary and on the operator's rights, as an ordinary user.

alice may create VaultProfiles and ManagedSecrets in her namespace (the ``people`` Role) and has
no right on Secrets anywhere. Every attack must be refused with a readable message (at admission,
and at sync time for a spec that got in while the webhooks were down), write nothing anywhere
and leave the victim's data as it was (same resourceVersion). A refusal is awaited in status, so
each check of "nothing was written" follows a sync that really ran.
"""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.conftest import GROUP, METRICS_PORT, OPERATOR_NAMESPACE
from e2e.scenario import (
    bao_write,
    condition,
    operator_access_reviews,
    operator_backend_calls,
    phase_is,
    secret_exists,
    status_of,
    unique_value,
)
from e2e.support import VERSION, Cluster, operator_log, wait_for
from e2e.test_approvals import webhooks_down
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, free_port
from vaultsync_devstack.vaults import OpenBao
from vaultsync_devstack.webhook import WebhookServing

pytestmark = pytest.mark.stack

ATTACKER = "alice"


class Victim:
    """Another namespace with an unmarked Secret the attacker wants."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.namespace = f"victim-{uuid.uuid4().hex[:8]}"
        assert cluster.kube.kubectl("create", "namespace", self.namespace).returncode == 0
        self.value = unique_value("victim")
        cluster.secret("victim", {"apiKey": self.value}, namespace=self.namespace)
        self.version = self.resource_version()

    def resource_version(self) -> str:
        return str(
            self.cluster.core.read_namespaced_secret("victim", self.namespace).metadata.resource_version
        )

    def secret_names(self) -> set[str]:
        return {s.metadata.name for s in self.cluster.core.list_namespaced_secret(self.namespace).items}

    def assert_untouched(self) -> None:
        assert self.resource_version() == self.version, "the victim's Secret was changed"
        assert self.secret_names() == {"victim"}, "a Secret was planted in the victim's namespace"


@pytest.fixture(scope="module")
def deleted_namespaces(kube: KubeControlPlane) -> Iterator[list[str]]:
    """Waits at the end of the module until no ManagedSecret is left in a namespace the tests
    deleted, so no sync of theirs keeps the operator busy: later tests measure cluster-wide
    request counters. The namespaces themselves go when the namespace controller next looks."""
    namespaces: list[str] = []
    yield namespaces
    custom = client.CustomObjectsApi(kube.api_client())

    def left() -> list[str]:
        return [
            f"{namespace}/{item['metadata']['name']}"
            for namespace in namespaces
            for item in custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "managedsecrets")[
                "items"
            ]
        ]

    wait_for(lambda: not left(), 180, "the ManagedSecrets of the deleted namespaces gone")


@pytest.fixture(autouse=True)
def namespaces_removed(cluster: Cluster, deleted_namespaces: list[str]) -> Iterator[list[str]]:
    """Deletes the test's namespaces afterwards (refused ManagedSecrets would retry forever)."""
    namespaces = [cluster.namespace]
    yield namespaces
    cluster.kube.kubectl("delete", "namespace", *namespaces, "--ignore-not-found", "--wait=false")
    deleted_namespaces.extend(namespaces)


@pytest.fixture
def victim(people: Cluster, namespaces_removed: list[str]) -> Victim:
    found = Victim(people)
    namespaces_removed.append(found.namespace)
    return found


def create_as(cluster: Cluster, plural: str, name: str, spec: dict[str, Any], user: str = ATTACKER) -> None:
    kind = {"vaultprofiles": "VaultProfile", "managedsecrets": "ManagedSecret"}[plural]
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    api = client.CustomObjectsApi(cluster.kube.api_client(user))
    api.create_namespaced_custom_object(GROUP, VERSION, cluster.namespace, plural, body)


def refused_at_admission(
    cluster: Cluster, plural: str, name: str, spec: dict[str, Any], user: str = ATTACKER
) -> str:
    with pytest.raises(client.ApiException) as caught:
        create_as(cluster, plural, name, spec, user)
    assert caught.value.status == 403, caught.value.body
    assert cluster.gone(plural, name)
    return str(caught.value.body)


def copy_of(profile: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "api-key",
        "source": {"vaultProfile": {"name": profile}, "path": path},
        "kubernetesSecrets": [{"name": "loot"}],
        "refreshInterval": "1h",
        **extra,
    }


def refusal(cluster: Cluster, name: str, reason: str) -> dict[str, Any]:
    """The Ready condition once the sync refused ``name`` with ``reason``."""

    def refused() -> dict[str, Any] | None:
        status = status_of(cluster, name)
        ready = condition(status, "Ready") if status.get("conditions") else {}
        return ready if ready.get("reason") == reason else None

    found: dict[str, Any] = wait_for(refused, 60, f"{name} refused with {reason}")
    return found


def profile_refusal(cluster: Cluster, name: str, fragment: str) -> str:
    def refused() -> str | None:
        status = cluster.get("vaultprofiles", name).get("status") or {}
        for found in status.get("conditions") or []:
            if found["type"] == "Ready" and fragment in found.get("message", ""):
                return str(found["message"])
        return None

    message: str = wait_for(refused, 60, f"VaultProfile {name} refused ({fragment})")
    return message


def kubernetes_profile(namespace: str | None = None) -> dict[str, Any]:
    return {"provider": {"kubernetes": {"namespace": namespace} if namespace else {}}}


def test_cross_namespace_source_is_refused_at_admission_and_at_sync(
    people: Cluster, victim: Victim, webhooks: WebhookServing, operator: ManagedProcess
) -> None:
    cluster = people
    message = refused_at_admission(cluster, "vaultprofiles", "theirs", kubernetes_profile(victim.namespace))
    assert "reaches Secrets of its own namespace only" in message
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "vaultprofiles", "theirs", kubernetes_profile(victim.namespace))
        create_as(cluster, "managedsecrets", "steal", copy_of("theirs", "victim"))
    ready = refusal(cluster, "steal", "NamespaceBoundary")
    assert "spec.provider.kubernetes.namespace" in ready["message"]
    assert not secret_exists(cluster, "loot")
    victim.assert_untouched()


@pytest.mark.parametrize("protected", ["kube-system", OPERATOR_NAMESPACE])
def test_kube_system_and_the_operator_namespace_are_never_a_source(
    people: Cluster, protected: str, webhooks: WebhookServing, operator: ManagedProcess
) -> None:
    cluster = people
    message = refused_at_admission(cluster, "vaultprofiles", "system", kubernetes_profile(protected))
    assert f"{protected} holds cluster or operator credentials" in message
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "vaultprofiles", "system", kubernetes_profile(protected))
        create_as(cluster, "managedsecrets", "steal", copy_of("system", "vaultsync-hmac-key"))
    ready = refusal(cluster, "steal", "NamespaceBoundary")
    assert "never a vault" in ready["message"]
    assert not secret_exists(cluster, "loot")


def test_an_organisation_kubernetes_profile_of_the_operator_namespace_is_refused_even_for_an_admin(
    people: Cluster, operator: ManagedProcess
) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VaultProfile",
        "metadata": {"name": f"own-{uuid.uuid4().hex[:6]}"},
        "spec": {**kubernetes_profile(), "sharing": {"namespaceSelector": {}}},
    }
    with pytest.raises(client.ApiException) as caught:
        people.custom.create_namespaced_custom_object(
            GROUP, VERSION, OPERATOR_NAMESPACE, "vaultprofiles", body
        )
    assert "never a vault" in str(caught.value.body)


@pytest.mark.parametrize("templated", [False, True], ids=["plain", "template"])
@pytest.mark.usefixtures("vault_profiles")
def test_cross_namespace_target_is_refused_at_admission_and_at_sync(
    people: Cluster, victim: Victim, openbao: OpenBao, webhooks: WebhookServing, templated: bool
) -> None:
    cluster = people
    path = f"e2e/{cluster.namespace}/plant"
    bao_write(openbao, path, {"apiKey": unique_value("plant")})
    target: dict[str, Any] = {"name": "planted", "namespace": victim.namespace}
    if templated:
        target["template"] = {"key": "{{ secret.apiKey }}"}
    spec = {**copy_of("bao", path), "kubernetesSecrets": [target]}
    message = refused_at_admission(cluster, "managedsecrets", "plant", spec)
    assert "writes Secrets in its own namespace only" in message
    assert "crossNamespaceTargets" in message
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "managedsecrets", "plant", spec)
    ready = refusal(cluster, "plant", "NamespaceBoundary")
    assert f"spec.kubernetesSecrets[0].namespace {victim.namespace}" in ready["message"]
    victim.assert_untouched()


def test_a_reference_cannot_pull_content_from_another_namespace(
    people: Cluster, victim: Victim, webhooks: WebhookServing, operator: ManagedProcess
) -> None:
    cluster = people
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "vaultprofiles", "theirs", kubernetes_profile(victim.namespace))
        create_as(cluster, "managedsecrets", "bridge", copy_of("theirs", "victim", kubernetesSecrets=[]))
    cluster.secret("mine", {"apiKey": unique_value("mine")})
    cluster.create("vaultprofiles", "own", kubernetes_profile())
    create_as(
        cluster,
        "managedsecrets",
        "render",
        copy_of(
            "own",
            "mine",
            references=["bridge"],
            kubernetesSecrets=[{"name": "loot", "template": {"key": "{{ SECRETS.bridge.apiKey }}"}}],
        ),
        user="admin",
    )
    ready = refusal(cluster, "render", "TemplateFailed")
    assert "spec.references: ManagedSecret" in ready["message"]
    assert "spec.provider.kubernetes.namespace" in ready["message"]
    assert not secret_exists(cluster, "loot")
    victim.assert_untouched()


def test_an_organisation_profile_not_shared_with_the_namespace_is_refused(
    people: Cluster, openbao: OpenBao, webhooks: WebhookServing, operator: ManagedProcess
) -> None:
    cluster = people
    name = f"private-{uuid.uuid4().hex[:6]}"
    token_secret = f"{name}-token"
    cluster.secret(token_secret, {"token": openbao.root_token}, namespace=OPERATOR_NAMESPACE)
    profile = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VaultProfile",
        "metadata": {"name": name},
        "spec": {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "mount": "secret",
                    "auth": {"token": {"secretRef": {"name": token_secret, "key": "token"}}},
                }
            },
            "sharing": {"namespaceSelector": {"matchLabels": {"vaultsync.io/team": "platform"}}},
        },
    }
    cluster.custom.create_namespaced_custom_object(
        GROUP, VERSION, OPERATOR_NAMESPACE, "vaultprofiles", profile
    )
    spec = copy_of("x", f"e2e/{cluster.namespace}/org")
    spec["source"]["vaultProfile"] = {"name": name, "namespace": OPERATOR_NAMESPACE}
    message = refused_at_admission(cluster, "managedsecrets", "borrow", spec)
    assert f"does not share with namespace {cluster.namespace}" in message
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "managedsecrets", "borrow", spec)
    ready = refusal(cluster, "borrow", "ProfileNotAllowed")
    assert "spec.sharing.namespaceSelector" in ready["message"]
    assert not secret_exists(cluster, "loot")


class Listener:
    """An HTTP server on loopback that the attacker controls: it records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                received.append((self.path, dict(self.headers)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_LIST = _record

            def log_message(self, *_: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_a_credential_the_author_cannot_read_is_never_sent_to_an_address_the_author_controls(
    people: Cluster, listener: Listener, operator: ManagedProcess
) -> None:
    cluster = people
    token = unique_value("token")
    cluster.secret("platform-token", {"token": token})
    create_as(
        cluster,
        "vaultprofiles",
        "exfil",
        {
            "provider": {
                "hashicorp": {
                    "address": f"http://127.0.0.1:{listener.port}",
                    "mount": "secret",
                    "auth": {"token": {"secretRef": {"name": "platform-token", "key": "token"}}},
                }
            }
        },
    )
    message = profile_refusal(cluster, "exfil", "may not get Secret")
    assert f"alice may not get Secret {cluster.namespace}/platform-token" in message
    create_as(cluster, "managedsecrets", "use", copy_of("exfil", "x"))
    ready = refusal(cluster, "use", "AccessDenied")
    assert "credential token of spec.provider.hashicorp" in ready["message"]
    assert listener.requests == [], "the operator called the attacker's address"
    assert token not in str(cluster.get("vaultprofiles", "exfil"))


def test_a_kubernetes_source_the_author_cannot_read_is_refused(
    people: Cluster, webhooks: WebhookServing, operator: ManagedProcess
) -> None:
    cluster = people
    cluster.secret("payroll", {"apiKey": unique_value("payroll")})
    create_as(cluster, "vaultprofiles", "here", kubernetes_profile())
    create_as(cluster, "managedsecrets", "peek", copy_of("here", "payroll"))
    ready = refusal(cluster, "peek", "AccessDenied")
    assert f"its author alice may not get Secret {cluster.namespace}/payroll" in ready["message"]
    assert not secret_exists(cluster, "loot")
    forged = '{"user":"admin","groups":["system:masters"],"seal":"hmac-sha256:00"}'
    with webhooks_down(cluster.kube, webhooks):
        api = client.CustomObjectsApi(cluster.kube.api_client(ATTACKER))
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ManagedSecret",
            "metadata": {"name": "forged", "annotations": {"vaultsync.io/spec-author": forged}},
            "spec": copy_of("here", "payroll"),
        }
        api.create_namespaced_custom_object(GROUP, VERSION, cluster.namespace, "managedsecrets", body)
    ready = refusal(cluster, "forged", "AccessDenied")
    assert "the author of its spec is not known" in ready["message"]
    assert not secret_exists(cluster, "loot")


def test_adopt_needs_the_right_to_update_the_secret(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    cluster.secret("existing", {"apiKey": "theirs-" + uuid.uuid4().hex})
    before = cluster.core.read_namespaced_secret("existing", cluster.namespace).metadata.resource_version
    path = f"e2e/{cluster.namespace}/adopt"
    bao_write(openbao, path, {"apiKey": unique_value("adopt")})
    create_as(
        cluster,
        "managedsecrets",
        "take",
        {**copy_of("bao", path), "kubernetesSecrets": [{"name": "existing"}], "adopt": True},
    )

    def target_failed() -> str | None:
        for entry in status_of(cluster, "take").get("targets") or []:
            if entry["state"] == "Failed":
                return str(entry.get("message"))
        return None

    message = wait_for(target_failed, 60, "the adopt refused")
    assert f"alice may not update Secret {cluster.namespace}/existing" in message
    after = cluster.core.read_namespaced_secret("existing", cluster.namespace).metadata.resource_version
    assert after == before


@pytest.mark.parametrize(
    ("provider", "fragment"),
    [
        pytest.param({"env": {"prefix": "H"}}, "spec.provider.env", id="environment"),
        pytest.param(
            {"hashicorp": {"address": "http://127.0.0.1:1", "auth": {"kubernetes": {"role": "any"}}}},
            "spec.provider.hashicorp.auth.kubernetes",
            id="service-account-token",
        ),
    ],
)
def test_a_namespaced_profile_cannot_use_the_operators_own_identity(
    people: Cluster,
    webhooks: WebhookServing,
    operator: ManagedProcess,
    provider: dict[str, Any],
    fragment: str,
) -> None:
    cluster = people
    spec = {"provider": provider}
    message = refused_at_admission(cluster, "vaultprofiles", "mine", spec)
    assert fragment in message
    assert "organisation profiles" in message
    with webhooks_down(cluster.kube, webhooks):
        create_as(cluster, "vaultprofiles", "mine", spec)
        create_as(cluster, "managedsecrets", "home", copy_of("mine", "OME"))
    ready = refusal(cluster, "home", "NamespaceBoundary")
    assert fragment in ready["message"]
    assert not secret_exists(cluster, "loot")


def test_the_synced_event_counts_only_targets_written(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    path = f"e2e/{cluster.namespace}/count"
    bao_write(openbao, path, {"apiKey": unique_value("count")})
    cluster.secret("occupied", {"apiKey": "not ours"})
    spec = {
        **copy_of("bao", path),
        "kubernetesSecrets": [{"name": "free-1"}, {"name": "free-2"}, {"name": "occupied"}],
    }
    cluster.create("managedsecrets", "count", spec)
    wait_for(
        lambda: phase_is(cluster, "count", "Failed") or phase_is(cluster, "count", "Synced"), 60, "synced"
    )
    messages = wait_for(
        lambda: [e.message for e in cluster.events("count") if e.reason == "Synced"], 60, "a Synced event"
    )
    assert messages == ["version 1 pushed to 2 targets; 1 failed"]


def test_namespace_deletion_completes_when_the_profile_was_deleted_first(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    path = f"e2e/{cluster.namespace}/gone"
    bao_write(openbao, path, {"apiKey": unique_value("gone")})
    spec = {
        **copy_of("bao", path),
        "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": f"e2e/{cluster.namespace}/gone-copy"}],
        "deletionPolicy": "Delete",
    }
    cluster.create("managedsecrets", "orphan", spec)
    wait_for(lambda: phase_is(cluster, "orphan", "Synced", 1), 60, "Synced")
    cluster.delete("vaultprofiles", "aws")
    wait_for(lambda: cluster.gone("vaultprofiles", "aws"), 60, "profile deleted")
    assert cluster.kube.kubectl("delete", "namespace", cluster.namespace, "--wait=false").returncode == 0

    def namespace_gone() -> bool:
        try:
            cluster.core.read_namespace(cluster.namespace)
        except client.ApiException as e:
            return e.status == 404
        return False

    wait_for(namespace_gone, 180, "the namespace deleted (the finalizer released after the bounded wait)")
    log = operator_log(operator)
    assert "CopiesLeftBehind: finalizer released" in log
    assert f"VaultProfile {cluster.namespace}/aws not found" in log


def test_access_reviews_cost_nothing_in_the_steady_state(cluster: Cluster, operator: ManagedProcess) -> None:
    """The author's right to read a Kubernetes source is checked when content is read, never on a
    refresh that finds nothing changed: many refreshes, no new SubjectAccessReview."""
    cluster.secret("steady-source", {"apiKey": unique_value("steady")})
    cluster.create("vaultprofiles", "here", kubernetes_profile())
    cluster.create("managedsecrets", "steady", copy_of("here", "steady-source", refreshInterval="1s"))
    wait_for(lambda: phase_is(cluster, "steady", "Synced", 1), 60, "Synced")
    reviews = wait_for(lambda: operator_access_reviews(METRICS_PORT, cluster.namespace), 30, "a first review")
    listings = f"{cluster.namespace}/here"

    def listed() -> int:
        calls = operator_backend_calls(METRICS_PORT, cluster.namespace)
        return sum(count for (profile, _), count in calls.items() if profile == listings)

    start = listed()
    wait_for(lambda: listed() >= start + 3, 60, "three more refreshes (change listings)")
    assert operator_access_reviews(METRICS_PORT, cluster.namespace) == reviews
    assert status_of(cluster, "steady")["currentVersion"] == 1
