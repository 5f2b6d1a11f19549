"""End to end: no approval rests on a status field, an unsealed decision or an old approval.

Each attack is made the way the issue found it (an admin writing status subresources, a
non-admin writing decisions while the webhook is not registered, an approval of other content
brought back) and each must end the same way: a readable message (a Warning event, a
condition or the request's own status), nothing pushed, and the genuine approval still works.
"Nothing pushed" is proven by the target Secret's resourceVersion over a window that ends with
the operator's own reaction to the attack, never by sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    request,
    request_phase,
)
from e2e.scenario import bao_write, condition, phase_is, status_of, unique_value
from e2e.support import GROUP, VERSION, Cluster, wait_for
from vaultsync.cli_approvals import JSON_PATCH, DecisionRefused, add_decision
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import OpenBao
from vaultsync_devstack.webhook import WebhookServing, register_webhooks, unregister_webhooks

pytestmark = pytest.mark.stack

TWO_FROM_SECURITY = {"operations": ["Update"], "requiredApprovals": 2, "approvers": {"groups": [SECURITY]}}
NO_SEAL = "hmac-sha256:" + "0" * 64


def target_version(cluster: Cluster, secret: str) -> str:
    """The resourceVersion of the ManagedSecret's Kubernetes Secret: any push changes it."""
    return str(
        cluster.core.read_namespaced_secret(f"{secret}-k8s", cluster.namespace).metadata.resource_version
    )


def warning(cluster: Cluster, name: str, reason: str) -> Any:
    return next((e for e in cluster.events(name) if e.reason == reason and e.type == "Warning"), None)


def approvals_counted(cluster: Cluster, name: str, count: int) -> dict[str, Any] | None:
    status = request(cluster, name).get("status") or {}
    return status if status.get("approvals") == count and status.get("phase") == "Pending" else None


def waiting_for_two(cluster: Cluster, openbao: OpenBao, secret: str) -> tuple[str, str, str, str]:
    """A secret whose Update needs two approvals, synced at v1, with v2 waiting in the source:
    (source path, v1, v2, name of the Update request)."""
    gated_profile(cluster, openbao, TWO_FROM_SECURITY)
    path = f"e2e/{cluster.namespace}/{secret}"
    v1, v2 = unique_value("v1"), unique_value("v2")
    bao_write(openbao, path, {"username": "app", "password": v1})
    create_secret_as(cluster, "alice", secret, path)
    wait_for(lambda: phase_is(cluster, secret, "Synced", 1), 90, f"{secret} synced")
    bao_write(openbao, path, {"username": "app", "password": v2})
    name = wait_for(lambda: pending_request(cluster, secret, "Update"), 60, "an Update request")
    return path, v1, v2, str(name)


def assert_nothing_pushed(cluster: Cluster, secret: str, version: str, value: str) -> None:
    assert target_version(cluster, secret) == version, "the target Secret was written"
    assert password(cluster, secret) == value
    status = status_of(cluster, secret)
    assert (status["phase"], status["currentVersion"]) == ("PendingApproval", 1)


def append_raw_decision(cluster: Cluster, user: str, name: str, entry: dict[str, Any]) -> bool:
    """Appends ``entry`` verbatim as ``user``; False while a webhook still rewrites or refuses it."""
    before = list(request(cluster, name)["spec"].get("decisions") or [])
    patch = [{"op": "add", "path": "/spec/decisions", "value": [*before, entry]}]
    try:
        as_user(cluster, user).patch_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, "approvalrequests", name, patch, _content_type=JSON_PATCH
        )
    except client.ApiException:
        return False
    stored = request(cluster, name)["spec"]["decisions"][-1]
    return bool(stored.get("seal") == entry["seal"] and stored.get("user") == entry["user"])


def webhook_answers(cluster: Cluster, name: str) -> bool:
    """True once the registered webhook refuses the outsider again (an admitted probe never counts)."""
    try:
        add_decision(cluster.kube.api_client("dave"), cluster.namespace, name, "Approve", "probe")
    except DecisionRefused as refusal:
        return "not an approver" in str(refusal)
    return False


def smuggle(cluster: Cluster, webhooks: WebhookServing, name: str, entry: dict[str, Any]) -> None:
    """Dave appends ``entry`` verbatim while the webhook configurations are removed; they are
    registered again (and answering) before this returns, whatever happens."""
    unregister_webhooks(cluster.kube)
    try:
        wait_for(lambda: append_raw_decision(cluster, "dave", name, entry), 60, "a raw decision stored")
    finally:
        register_webhooks(cluster.kube, webhooks)
        wait_for(lambda: webhook_answers(cluster, name), 60, "the admission webhook answering again")


def only_carol_counts(cluster: Cluster, secret: str, name: str, version: str, value: str) -> None:
    """Carol approves for real; the request counts one approval of two and nothing is pushed."""
    decide(cluster, "carol", name, "Approve")
    status = wait_for(lambda: approvals_counted(cluster, name, 1), 60, "only carol's approval counted")
    assert "1 more from" in status["message"]
    assert_nothing_pushed(cluster, secret, version, value)


def test_a_forged_request_status_approves_nothing(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    _, v1, v2, name = waiting_for_two(cluster, openbao, "forged-ar")
    wait_for(lambda: approvals_counted(cluster, name, 0), 60, "the operator's first status of the request")
    version = target_version(cluster, "forged-ar")

    forged = {"status": {"phase": "Approved", "approvals": 2, "message": "approved by bob, carol"}}
    cluster.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, cluster.namespace, "approvalrequests", name, forged
    )
    event = wait_for(lambda: warning(cluster, "forged-ar", "ApprovalStatusForged"), 60, "a Warning event")
    assert name in event.message
    assert "status is display only" in event.message
    status = wait_for(lambda: approvals_counted(cluster, name, 0), 60, "the request's status corrected")
    assert "2 more from" in status["message"]
    assert_nothing_pushed(cluster, "forged-ar", version, v1)

    decide(cluster, "bob", name, "Approve")
    wait_for(lambda: approvals_counted(cluster, name, 1), 60, "bob's approval counted")
    assert_nothing_pushed(cluster, "forged-ar", version, v1)
    decide(cluster, "carol", name, "Approve")
    wait_for(lambda: phase_is(cluster, "forged-ar", "Synced", 2), 60, "pushed after two real approvals")
    assert password(cluster, "forged-ar") == v2


def test_a_forged_or_replayed_approval_record_pushes_nothing(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    _, v1, v2, name = waiting_for_two(cluster, openbao, "victim")
    decide(cluster, "bob", name, "Approve")
    wait_for(lambda: approvals_counted(cluster, name, 1), 60, "one approval of two")
    version = target_version(cluster, "victim")
    genuine = status_of(cluster, "victim")["approval"]
    assert genuine["fingerprint"] == status_of(cluster, "victim")["fingerprint"]

    # An admin makes the status say the pending content was approved and is already the last
    # push (so a push would look like drift repair), with the operator's genuine seal of
    # another record, as a backup/restore tool could bring back.
    pending = request(cluster, name)["spec"]["fingerprint"]
    forged = {
        "fingerprint": pending,
        "approvedFingerprint": pending,
        "approval": {**genuine, "fingerprint": pending, "request": name},
    }
    cluster.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, cluster.namespace, "managedsecrets", "victim", {"status": forged}
    )
    event = wait_for(lambda: warning(cluster, "victim", "ApprovalRecordInvalid"), 60, "a Warning event")
    assert "does not carry the operator's seal" in event.message
    record = condition(status_of(cluster, "victim"), "ApprovalRecord")
    assert (record["status"], record["reason"]) == ("False", "ApprovalRecordInvalid")
    assert_nothing_pushed(cluster, "victim", version, v1)
    assert request_phase(cluster, name, "Pending"), "the real request is not superseded"

    decide(cluster, "carol", name, "Approve")
    status = wait_for(lambda: phase_is(cluster, "victim", "Synced", 2), 60, "the real approval still works")
    assert password(cluster, "victim") == v2
    assert status["approval"]["request"] == name
    assert condition(status, "ApprovalRecord")["status"] == "True"


def test_decisions_written_while_the_webhook_is_unregistered_do_not_count(
    people: Cluster,
    vault_profiles: dict[str, str],
    openbao: OpenBao,
    operator: ManagedProcess,
    webhooks: WebhookServing,
) -> None:
    cluster = people
    _, v1, v2, name = waiting_for_two(cluster, openbao, "unsealed")
    version = target_version(cluster, "unsealed")

    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    smuggle(
        cluster,
        webhooks,
        name,
        {"decision": "Approve", "user": "bob", "groups": [SECURITY], "at": at, "seal": NO_SEAL},
    )
    # Carol's real approval is the second one in the list; had bob's forged one counted, the
    # request would now be approved and the change pushed.
    only_carol_counts(cluster, "unsealed", name, version, v1)

    decide(cluster, "bob", name, "Approve")  # the forged entry in his name does not block him
    wait_for(lambda: phase_is(cluster, "unsealed", "Synced", 2), 60, "pushed after bob's real approval")
    assert password(cluster, "unsealed") == v2


def test_an_approval_of_other_content_or_another_request_is_not_reused(
    people: Cluster,
    vault_profiles: dict[str, str],
    openbao: OpenBao,
    operator: ManagedProcess,
    webhooks: WebhookServing,
) -> None:
    cluster = people
    path, v1, v2, first = waiting_for_two(cluster, openbao, "replay")
    decide(cluster, "bob", first, "Approve")
    wait_for(lambda: approvals_counted(cluster, first, 1), 60, "bob approved v2 (one of two)")
    bob_sealed = request(cluster, first)["spec"]["decisions"][0]

    bao_write(openbao, path, {"username": "app", "password": unique_value("v3")})
    wait_for(lambda: request_phase(cluster, first, "Superseded"), 60, "v2's request superseded by v3")
    bao_write(openbao, path, {"username": "app", "password": v2})
    fingerprint = request(cluster, first)["spec"]["fingerprint"]

    def asked_again() -> str | None:
        name = pending_request(cluster, "replay", "Update", other_than=first)
        return name if name and request(cluster, name)["spec"]["fingerprint"] == fingerprint else None

    again = wait_for(asked_again, 60, "v2 asked again")
    assert again == f"{first}-2", "the same content gets a new attempt, not its old request back"
    assert request_phase(cluster, first, "Superseded")
    version = target_version(cluster, "replay")

    # Bob's sealed approval of the first request, copied into the new one while nothing checks.
    smuggle(cluster, webhooks, again, bob_sealed)
    only_carol_counts(cluster, "replay", again, version, v1)

    decide(cluster, "bob", again, "Approve")
    wait_for(lambda: phase_is(cluster, "replay", "Synced", 2), 60, "pushed after two approvals of v2")
    assert password(cluster, "replay") == v2
