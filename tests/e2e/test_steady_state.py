"""End to end: a secret that does not change costs nothing, and a refresh request is honoured at once.

The evidence comes from the servers, not from the operator: the apiserver's audit log (no
write in the test's namespace: no PATCH of the ManagedSecret, no Secret write), moto's request
recorder (change listings only, no content read, no write), and the versions every vault reports.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from e2e.conftest import METRICS_PORT
from e2e.scenario import (
    apiserver_writes,
    assert_no_leak,
    bao,
    bao_write,
    moto_requests,
    operator_backend_calls,
    phase_is,
    secrets_manager,
    status_of,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]

REFRESH_ANNOTATION = "vaultsync.io/refresh-requested-at"
QUIET_SECONDS = 10
POLLING_CALLS = {"ListSecrets", "metadata"}
"""Change listings: AWS lists secrets, OpenBao KV v2 reads metadata (the version number)."""
CONTENT_CALLS = {
    "GetSecretValue",
    "DescribeSecret",
    "PutSecretValue",
    "CreateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "DeleteSecret",
    "RestoreSecret",
}


def _versions(cluster: Cluster, openbao: OpenBao, moto: Moto, aws_paths: list[str], bao_path: str) -> Any:
    """Everything a write anywhere would move: AWS version stages, the KV version, the Secret."""
    sm = secrets_manager(moto)
    bao_meta = bao(openbao).secrets.kv.v2.read_secret_metadata(path=bao_path)["data"]
    return {
        "aws": {p: sm.describe_secret(SecretId=p)["VersionIdsToStages"] for p in aws_paths},
        "bao": (bao_meta["current_version"], bao_meta["updated_time"]),
        "secret": cluster.core.read_namespaced_secret("steady", cluster.namespace).metadata.resource_version,
    }


@pytest.mark.usefixtures("vault_profiles")
def test_steady_state_makes_no_writes_no_patches_and_no_content_reads(
    cluster: Cluster, kube: KubeControlPlane, openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path, aws_copy, bao_copy = f"e2e/{ns}/steady", f"e2e/{ns}/steady-copy", f"e2e/{ns}/steady-copy"
    password = unique_value("steady")
    secrets_manager(moto).create_secret(
        Name=source_path, SecretString=json.dumps({"username": "app", "password": password})
    )
    cluster.create(
        "managedsecrets",
        "steady",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "aws"}, "path": source_path},
            "syncTargets": [
                {"vaultProfile": {"name": "aws"}, "path": aws_copy},
                {"vaultProfile": {"name": "bao"}, "path": bao_copy},
            ],
            "kubernetesSecrets": [{"name": "steady"}],
            "refreshInterval": "2s",
        },
    )
    wait_for(lambda: phase_is(cluster, "steady", "Synced", 1), 60, "version 1 Synced")
    time.sleep(3)  # the watch event of our own Secret write may still cause one re-check

    status_before = status_of(cluster, "steady")
    versions_before = _versions(cluster, openbao, moto, [source_path, aws_copy], bao_copy)
    writes_before = apiserver_writes(kube, ns)
    backend_before = operator_backend_calls(METRICS_PORT, ns)
    with moto_requests(moto) as calls:
        time.sleep(QUIET_SECONDS)
    backend_after = operator_backend_calls(METRICS_PORT, ns)
    writes_after = apiserver_writes(kube, ns)
    versions_after = _versions(cluster, openbao, moto, [source_path, aws_copy], bao_copy)

    assert writes_after == writes_before, "a steady state patches no ManagedSecret and writes no Secret"
    assert versions_after == versions_before, "a steady state writes to no vault and no Secret"
    assert status_of(cluster, "steady") == status_before
    listings = [c for c in calls if c[0] == "ListSecrets"]
    # One listing per refresh interval (2 s, jittered, the cached listing shared): at least one in
    # the window proves the operator keeps polling; how many depends on the jitter.
    assert len(listings) >= 1, f"the operator keeps polling for changes: {calls}"
    ours = [c for c in calls if c[0] in CONTENT_CALLS and c[1] in (source_path, aws_copy)]
    assert ours == [], "an unchanged secret costs no content read and no write"
    moved = {
        key: backend_after[key] - backend_before.get(key, 0)
        for key in backend_after
        if backend_after[key] != backend_before.get(key, 0)
    }
    assert {operation for _, operation in moved} <= POLLING_CALLS, f"only change listings: {moved}"
    assert {profile for profile, _ in moved} == {f"{ns}/aws", f"{ns}/bao"}, f"both vaults polled: {moved}"
    assert_no_leak(cluster, operator, ["steady"], [password])


def test_refresh_annotation_forces_an_immediate_reread(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path = f"e2e/{ns}/rotated"
    first, second = unique_value("first"), unique_value("second")
    bao_write(openbao, source_path, {"username": "app", "password": first})
    cluster.create(
        "managedsecrets",
        "rotated",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "kubernetesSecrets": [{"name": "rotated"}],
            "refreshInterval": "1h",
        },
    )
    wait_for(lambda: phase_is(cluster, "rotated", "Synced", 1), 60, "version 1 Synced")
    time.sleep(2)  # the watch event of our own Secret write causes one re-check; let it pass first

    bao_write(openbao, source_path, {"username": "app", "password": second})
    time.sleep(4)
    assert status_of(cluster, "rotated")["currentVersion"] == 1, "nothing re-reads before the hour is up"
    assert cluster.secret_data("rotated")["password"] == first

    requested = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.patch("managedsecrets", "rotated", {"metadata": {"annotations": {REFRESH_ANNOTATION: requested}}})
    wait_for(lambda: phase_is(cluster, "rotated", "Synced", 2), 10, "version 2 right after the request")
    assert cluster.secret_data("rotated")["password"] == second
    assert_no_leak(cluster, operator, ["rotated"], [first, second])
