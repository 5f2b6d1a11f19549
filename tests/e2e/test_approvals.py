"""End to end: gated changes wait for ApprovalRequests decided by real, distinct users.

The people and their moves are in ``e2e.approval_people``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from kubernetes import client

from e2e.approval_people import (
    SECURITY,
    as_user,
    create_secret_as,
    decide,
    gated_profile,
    password,
    pending_request,
    refused,
    request,
    request_phase,
    vaultsync_cli,
)
from e2e.operator_fixtures import METRICS_PORT
from e2e.scenario import bao_write, operator_worked_on, phase_is, unique_value
from e2e.support import GROUP, VERSION, Cluster, wait_for
from vaultsync.cli_approvals import JSON_PATCH, DecisionRefused, list_requests
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, free_port
from vaultsync_devstack.vaults import OpenBao
from vaultsync_devstack.webhook import WebhookServing, register_webhooks

pytestmark = pytest.mark.stack


def test_update_needs_two_distinct_approvers_and_pushes_exactly_the_approved_content(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    gated_profile(
        cluster,
        openbao,
        {"operations": ["Update"], "requiredApprovals": 2, "approvers": {"groups": [SECURITY]}},
    )
    path = f"e2e/{cluster.namespace}/two"
    v1, v2 = unique_value("v1"), unique_value("v2")
    bao_write(openbao, path, {"username": "app", "password": v1})
    create_secret_as(cluster, "alice", "two", path, kind="key-value")
    wait_for(lambda: phase_is(cluster, "two", "Synced", 1), 60, "Create (not gated) synced")
    assert (
        cluster.get("managedsecrets", "two")["metadata"]["annotations"]["vaultsync.io/last-modified-by"]
        == "alice"
    )

    bao_write(openbao, path, {"username": "app", "password": v2, "host": "db"})
    name = wait_for(lambda: pending_request(cluster, "two", "Update"), 60, "an Update ApprovalRequest")
    spec = request(cluster, name)["spec"]
    assert spec["managedSecret"] == "two"
    assert spec["requestedBy"] == "source vault"
    assert spec["summary"]["keysAdded"] == ["host"]
    assert spec["summary"]["keysChanged"] == ["password"]
    assert password(cluster, "two") == v1
    assert [
        r["metadata"]["name"] for r in list_requests(cluster.kube.api_client("bob"), cluster.namespace)
    ] == [name]

    forged = [{"op": "add", "path": "/spec/decisions", "value": [{"decision": "Approve", "user": "carol"}]}]
    as_user(cluster, "bob").patch_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "approvalrequests", name, forged, _content_type=JSON_PATCH
    )
    decisions = request(cluster, name)["spec"]["decisions"]
    assert [(d["user"], d["decision"]) for d in decisions] == [("bob", "Approve")], (
        "the webhook stamps the real user"
    )
    assert SECURITY in decisions[0]["groups"]
    assert "already decided" in refused(cluster, "bob", name, "Approve")
    forged_request = {**request(cluster, name), "metadata": {"name": f"{name}-forged"}}
    forged_request["spec"] = {**spec, "requestedBy": "dave", "decisions": []}
    with pytest.raises(client.ApiException) as opened:
        as_user(cluster, "bob").create_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, "approvalrequests", forged_request
        )
    assert "opened by the vaultsync operator only" in str(opened.value.body)
    assert "not an approver" in refused(cluster, "dave", name, "Approve")
    operator_worked_on(METRICS_PORT, cluster.namespace)
    assert (request(cluster, name).get("status") or {}).get("phase") == "Pending"
    assert password(cluster, "two") == v1, "one approval of two pushes nothing"

    listed = vaultsync_cli(cluster, "bob", "approvals", "-n", cluster.namespace)
    assert listed.returncode == 0
    assert name in listed.stdout
    assert "~password" in listed.stdout
    assert v2 not in listed.stdout
    outsider = vaultsync_cli(cluster, "dave", "approve", name, "-n", cluster.namespace)
    assert outsider.returncode == 1
    assert "error: dave is not an approver of Update for ManagedSecret two" in outsider.stderr
    approved = vaultsync_cli(
        cluster, "carol", "approve", name, "-n", cluster.namespace, "--comment", "checked with the DBA"
    )
    assert approved.returncode == 0, approved.stderr
    status = wait_for(lambda: phase_is(cluster, "two", "Synced", 2), 60, "pushed after the second approval")
    assert status["fingerprint"] == spec["fingerprint"] == status["approvedFingerprint"]
    assert password(cluster, "two") == v2
    assert request(cluster, name)["status"]["phase"] == "Approved"
    assert "already Approved" in refused(cluster, "dave", name, "Approve")
    edit = [{"op": "replace", "path": "/spec/decisions/0/comment", "value": "rewritten"}]
    with pytest.raises(client.ApiException):
        as_user(cluster, "bob").patch_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, "approvalrequests", name, edit, _content_type=JSON_PATCH
        )


def test_source_change_supersedes_reject_holds_and_self_approval_is_refused(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    approval = {
        "operations": ["Update", "ChangeSource"],
        "approvers": {"users": ["alice"], "groups": [SECURITY]},
    }
    gated_profile(cluster, openbao, approval)
    path, moved = f"e2e/{cluster.namespace}/one", f"e2e/{cluster.namespace}/moved"
    v1, v2, v3, v4 = (unique_value(f"v{i}") for i in range(1, 5))
    bao_write(openbao, path, {"username": "app", "password": v1})
    create_secret_as(cluster, "alice", "one", path)
    wait_for(lambda: phase_is(cluster, "one", "Synced", 1), 60, "first version synced")

    bao_write(openbao, path, {"username": "app", "password": v2})
    first = wait_for(lambda: pending_request(cluster, "one", "Update"), 60, "request for v2")
    bao_write(openbao, path, {"username": "app", "password": v3})
    # Bob approves v2, but the source now yields v3. With a 2 s refresh the operator may already
    # have superseded the request, and then the decision is refused: both end the same way.
    with contextlib.suppress(DecisionRefused):
        decide(cluster, "bob", first, "Approve")
    wait_for(lambda: request_phase(cluster, first, "Superseded"), 60, "first request superseded")
    second = wait_for(
        lambda: pending_request(cluster, "one", "Update", other_than=first), 60, "request for v3"
    )
    assert request(cluster, second)["spec"]["fingerprint"] != request(cluster, first)["spec"]["fingerprint"]
    assert password(cluster, "one") == v1, "the old approval pushed nothing"
    assert "already Superseded" in refused(cluster, "carol", first, "Approve")

    decide(cluster, "carol", second, "Reject", "not in the change window")
    wait_for(lambda: phase_is(cluster, "one", "Rejected"), 60, "ManagedSecret Rejected")
    operator_worked_on(METRICS_PORT, cluster.namespace)
    assert phase_is(cluster, "one", "Rejected")
    assert password(cluster, "one") == v1

    bao_write(openbao, moved, {"username": "app", "password": v4})
    spec_patch = {"spec": {"source": {"path": moved}}}
    as_user(cluster, "alice").patch_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "managedsecrets", "one", spec_patch
    )
    change = wait_for(lambda: pending_request(cluster, "one", "ChangeSource"), 60, "a ChangeSource request")
    spec = request(cluster, change)["spec"]
    assert spec["requestedBy"] == "alice"
    assert spec["summary"]["newSource"]["path"] == moved
    assert spec["summary"]["oldSource"]["path"] == path
    assert "cannot approve it" in refused(cluster, "alice", change, "Approve")
    decide(cluster, "bob", change, "Approve")
    wait_for(lambda: phase_is(cluster, "one", "Synced", 2), 60, "moved source pushed")
    assert password(cluster, "one") == v4


def test_expired_request_takes_no_decision_and_a_new_change_opens_another(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    gated_profile(
        cluster,
        openbao,
        {"operations": ["Update"], "approvers": {"groups": [SECURITY]}, "expiresAfter": "10s"},
    )
    path = f"e2e/{cluster.namespace}/short"
    bao_write(openbao, path, {"username": "app", "password": unique_value("v1")})
    create_secret_as(cluster, "alice", "short", path)
    wait_for(lambda: phase_is(cluster, "short", "Synced", 1), 60, "synced")
    bao_write(openbao, path, {"username": "app", "password": unique_value("v2")})
    name = wait_for(lambda: pending_request(cluster, "short", "Update"), 60, "a request")
    # From now on only the wake-up at expiresAt (not the refresh interval) can mark it Expired.
    cluster.patch("managedsecrets", "short", {"spec": {"refreshInterval": "1h"}})
    wait_for(lambda: request_phase(cluster, name, "Expired"), 30, "request expired")
    assert "expired" in refused(cluster, "bob", name, "Approve").lower()
    assert phase_is(cluster, "short", "PendingApproval")
    bao_write(openbao, path, {"username": "app", "password": unique_value("v3")})
    refresh = {"metadata": {"annotations": {"vaultsync.io/refresh-requested-at": unique_value("now")}}}
    cluster.patch("managedsecrets", "short", refresh)
    wait_for(lambda: pending_request(cluster, "short", "Update", other_than=name), 60, "a new request")


def test_gated_delete_waits_rejection_keeps_the_resource_and_approval_deletes(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    gated_profile(cluster, openbao, {"operations": ["Delete"], "approvers": {"users": ["bob"]}})
    path = f"e2e/{cluster.namespace}/keep"
    bao_write(openbao, path, {"username": "app", "password": unique_value("v1")})
    create_secret_as(cluster, "alice", "keep", path)
    wait_for(lambda: phase_is(cluster, "keep", "Synced", 1), 60, "synced")
    as_user(cluster, "alice").delete_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "managedsecrets", "keep"
    )
    first = wait_for(lambda: pending_request(cluster, "keep", "Delete"), 60, "a Delete request")
    assert cluster.secret_data("keep-k8s"), "nothing is deleted before approval"
    decide(cluster, "bob", first, "Reject", "still used by payments")
    wait_for(lambda: phase_is(cluster, "keep", "Rejected"), 60, "deletion rejected")
    wait_for(lambda: _delete_retry_scheduled(cluster, "keep"), 60, "the rejected delete handler done")
    assert not cluster.gone("managedsecrets", "keep")
    assert cluster.secret_data("keep-k8s")

    cluster.patch("managedsecrets", "keep", {"spec": {"refreshInterval": "3s"}})  # asks again
    second = wait_for(
        lambda: pending_request(cluster, "keep", "Delete", other_than=first), 60, "a new request"
    )
    decide(cluster, "bob", second, "Approve")
    wait_for(lambda: cluster.gone("managedsecrets", "keep"), 60, "ManagedSecret deleted after approval")


@contextmanager
def webhooks_down(kube: KubeControlPlane, webhooks: WebhookServing) -> Iterator[None]:
    """Points the webhook configurations at a port where nothing listens, then back."""
    register_webhooks(kube, webhooks, port=free_port())
    try:
        yield
    finally:
        register_webhooks(kube, webhooks)


def test_webhook_unavailable_refuses_decisions_and_ungated_sync_continues(
    people: Cluster,
    vault_profiles: dict[str, str],
    openbao: OpenBao,
    operator: ManagedProcess,
    webhooks: WebhookServing,
) -> None:
    cluster = people
    gated_profile(cluster, openbao, {"operations": ["Update"], "approvers": {"groups": [SECURITY]}})
    gated, free = f"e2e/{cluster.namespace}/gated", f"e2e/{cluster.namespace}/free"
    bao_write(openbao, gated, {"username": "app", "password": unique_value("g1")})
    bao_write(openbao, free, {"username": "app", "password": unique_value("f1")})
    create_secret_as(cluster, "alice", "gated", gated)
    create_secret_as(cluster, "alice", "free", free, profile="bao")
    wait_for(
        lambda: phase_is(cluster, "gated", "Synced", 1) and phase_is(cluster, "free", "Synced", 1),
        60,
        "synced",
    )
    bao_write(openbao, gated, {"username": "app", "password": unique_value("g2")})
    name = wait_for(lambda: pending_request(cluster, "gated", "Update"), 60, "a request")

    with webhooks_down(cluster.kube, webhooks):
        assert "webhook is unavailable" in refused(cluster, "bob", name, "Approve")
        f2 = unique_value("f2")
        bao_write(openbao, free, {"username": "app", "password": f2})
        wait_for(lambda: phase_is(cluster, "free", "Synced", 2), 60, "ungated secret still syncs")
        assert password(cluster, "free") == f2
        assert not request(cluster, name)["spec"].get("decisions")
    decide(cluster, "bob", name, "Approve")
    wait_for(lambda: phase_is(cluster, "gated", "Synced", 2), 60, "approved once the webhook is back")


def _delete_retry_scheduled(cluster: Cluster, name: str) -> bool:
    """True once the finalizer's run that set Rejected has ended and asked to run again later
    (it says so in a ``DeletionWaits`` event whose message is the Rejected status's reason).

    The run that set Rejected then stopped: until its retry is due, nothing can delete the
    object, so this is the end of the window in which a deletion would have happened.
    """
    status = cluster.get("managedsecrets", name).get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    waits = [e.message for e in cluster.events(name) if e.reason == "DeletionWaits"]
    return status.get("phase") == "Rejected" and bool(ready.get("message")) and ready["message"] in waits
