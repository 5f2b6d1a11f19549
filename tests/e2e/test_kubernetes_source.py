"""A Kubernetes Secret as the source: its changes are seen at once (a watch), not at the next refresh;
VaultProfiles count the ManagedSecrets that use them."""

from __future__ import annotations

import uuid

import pytest

from e2e.scenario import phase_is
from e2e.support import Cluster, wait_for

pytestmark = pytest.mark.stack


def test_kubernetes_source_change_syncs_without_waiting_for_refresh(cluster: Cluster) -> None:
    first, second = "k-" + uuid.uuid4().hex, "k-" + uuid.uuid4().hex
    cluster.secret("upstream", {"apiKey": first})
    cluster.create("vaultprofiles", "cluster", {"provider": {"kubernetes": {"namespace": cluster.namespace}}})
    cluster.create(
        "managedsecrets",
        "copied",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "cluster"}, "path": "upstream"},
            "kubernetesSecrets": [{"name": "downstream"}],
            "refreshInterval": "1h",
        },
    )
    wait_for(lambda: cluster.secret_data("downstream").get("apiKey") == first, 60, "first sync")
    wait_for(
        lambda: (cluster.get("vaultprofiles", "cluster").get("status") or {}).get("managedSecrets") == 1,
        30,
        "usage count on the profile",
    )
    cluster.core.patch_namespaced_secret("upstream", cluster.namespace, {"stringData": {"apiKey": second}})
    wait_for(
        lambda: cluster.secret_data("downstream").get("apiKey") == second, 20, "change seen through the watch"
    )
    # The status is patched after the content is written: wait for it as well.
    wait_for(lambda: phase_is(cluster, "copied", "Synced", 2), 30, "version 2 in status")

    cluster.delete("managedsecrets", "copied")
    wait_for(
        lambda: (cluster.get("vaultprofiles", "cluster").get("status") or {}).get("managedSecrets") == 0,
        30,
        "usage count drops when the ManagedSecret is gone",
    )
