"""End to end: approval edge cases found by following the docs (a delete after a rejected change,
rotation under an Update-gated profile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.approval_people import (
    SECURITY,
    as_user,
    create_secret_as,
    decide,
    gated_profile,
    pending_request,
    request,
)
from e2e.conftest import METRICS_PORT
from e2e.scenario import bao, bao_write, condition, operator_backend_calls, phase_is, status_of, unique_value
from e2e.support import GROUP, VERSION, Cluster, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack


def requests_of(cluster: Cluster, secret: str) -> list[dict[str, Any]]:
    listed = cluster.custom.list_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "approvalrequests"
    )
    found = [r for r in listed["items"] if r["spec"]["managedSecret"] == secret]
    return sorted(found, key=lambda r: str(r["metadata"]["creationTimestamp"]))


def ready_message(cluster: Cluster, secret: str) -> str:
    return str(condition(status_of(cluster, secret), "Ready").get("message") or "")


def test_a_delete_after_a_rejected_change_asks_only_about_the_delete(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    gated_profile(
        cluster, openbao, {"operations": ["ChangeSource", "Delete"], "approvers": {"users": ["bob"]}}
    )
    path, moved = f"e2e/{cluster.namespace}/db", f"e2e/{cluster.namespace}/db-moved"
    bao_write(openbao, path, {"username": "app", "password": unique_value("v1")})
    bao_write(openbao, moved, {"username": "app", "password": unique_value("v2")})
    create_secret_as(cluster, "alice", "payments-db", path)
    wait_for(lambda: phase_is(cluster, "payments-db", "Synced", 1), 90, "synced")
    as_user(cluster, "alice").patch_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.namespace,
        "managedsecrets",
        "payments-db",
        {"spec": {"source": {"path": moved}}},
    )
    change = wait_for(
        lambda: pending_request(cluster, "payments-db", "ChangeSource"), 60, "ChangeSource request"
    )
    decide(cluster, "bob", change, "Reject", "not now")
    wait_for(lambda: phase_is(cluster, "payments-db", "Rejected"), 60, "change rejected")

    as_user(cluster, "alice").delete_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "managedsecrets", "payments-db"
    )
    deletion = wait_for(lambda: pending_request(cluster, "payments-db", "Delete"), 60, "a Delete request")
    decide(cluster, "bob", deletion, "Reject", "still used")
    wait_for(
        lambda: (
            phase_is(cluster, "payments-db", "Rejected")
            and ready_message(cluster, "payments-db").startswith("Delete was rejected")
        ),
        60,
        "the ManagedSecret shows the rejected Delete",
    )
    found = [
        (r["spec"]["operation"], (r.get("status") or {}).get("phase"))
        for r in requests_of(cluster, "payments-db")
    ]
    assert found == [("ChangeSource", "Rejected"), ("Delete", "Rejected")], found
    assert request(cluster, change)["status"]["phase"] == "Rejected"


def test_rotation_waits_for_the_request_it_opened(
    people: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    cluster = people
    gated_profile(cluster, openbao, {"operations": ["Update"], "approvers": {"groups": [SECURITY]}})
    path = f"e2e/{cluster.namespace}/rotating"
    cluster.create(
        "managedsecrets",
        "rotating",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "gated"}, "path": path},
            "kubernetesSecrets": [{"name": "rotating-k8s"}],
            "generate": {"kind": "password", "rotationInterval": "1s"},
            "refreshInterval": "2s",
        },
    )
    # Generated and pushed (Create is not gated), then rotated a second later: the request waits.
    first = wait_for(
        lambda: pending_request(cluster, "rotating", "Update"), 90, "the rotation's Update request"
    )
    assert status_of(cluster, "rotating")["currentVersion"] == 1
    metadata = bao(openbao).secrets.kv.v2.read_secret_metadata(path=path)["data"]
    rotated_version = metadata["current_version"]
    assert request(cluster, first)["spec"]["fingerprint"]

    def source_reads() -> int:
        return operator_backend_calls(METRICS_PORT, cluster.namespace).get(
            (f"{cluster.namespace}/gated", "read"), 0
        )

    written = datetime.fromisoformat(metadata["updated_time"].replace("Z", "+00:00"))

    # Three forced syncs, each once the 1 s interval has passed since the rotation: each would
    # rotate again (the wait is for the rotation to be due, not for something to happen).
    for attempt in range(3):
        due = written + timedelta(seconds=1.5)
        wait_for(lambda due=due: datetime.now(UTC) > due, 10, "the next rotation due")
        before = source_reads()
        refresh = {
            "metadata": {
                "annotations": {"vaultsync.io/refresh-requested-at": f"{attempt}-{unique_value('r')}"}
            }
        }
        cluster.patch("managedsecrets", "rotating", refresh)
        wait_for(
            lambda before=before: source_reads() > before, 60, f"forced sync {attempt + 1} read the source"
        )
        written = datetime.now(UTC)
    metadata = bao(openbao).secrets.kv.v2.read_secret_metadata(path=path)["data"]
    assert metadata["current_version"] == rotated_version, "no new rotation while its request waits"
    assert [r["metadata"]["name"] for r in requests_of(cluster, "rotating")] == [first]
    assert phase_is(cluster, "rotating", "PendingApproval")

    decide(cluster, "bob", first, "Approve")
    # The next rotation is due a second after the push, so the phase may already wait again.
    wait_for(lambda: status_of(cluster, "rotating").get("currentVersion") == 2, 60, "the rotation pushed")
