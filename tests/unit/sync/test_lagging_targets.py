"""A target whose last write failed is lagging: its catch-up is an update, not drift repair."""

from __future__ import annotations

from vaultsync.sync.approval_memory import lagging_targets


def test_only_targets_the_last_sync_failed_to_write_are_lagging() -> None:
    previous = {
        "targets": [
            {"kind": "Vault", "vaultProfile": "ns/aws", "path": "app/db", "state": "Failed"},
            {"kind": "Vault", "vaultProfile": "ns/gcp", "path": "app/db", "state": "Synced"},
            {"kind": "KubernetesSecret", "namespace": "ns", "name": "db", "state": "Failed"},
            "not an entry",
        ]
    }
    assert lagging_targets(previous) == {"vault:ns/aws:app/db", "secret:ns/db"}
    assert lagging_targets({}) == frozenset()
