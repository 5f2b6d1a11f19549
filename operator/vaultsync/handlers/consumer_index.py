"""The operator's memory of which workloads use which Secrets, fed by workload watch events.

Kept in memory, indexed by Secret, so a sync can fill ``status.consumers`` without listing
workloads, and a workload change wakes only the ManagedSecrets whose Secrets it touches.
Thread-safe: watch handlers write on the event loop, syncs read from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from vaultsync.handlers.notices import ObjectRef
from vaultsync.reconcile.consumers import Consumer, WorkloadRef, consumers_status

SecretKey = tuple[str, str]
"""(namespace, name) of a Secret."""

API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Pod": "v1",
}


class ConsumerIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_workload: dict[WorkloadRef, frozenset[str]] = {}
        self._uids: dict[WorkloadRef, str | None] = {}
        self._by_secret: dict[SecretKey, set[WorkloadRef]] = {}
        self._owners: dict[SecretKey, set[str]] = {}

    def update(self, ref: WorkloadRef, secrets: frozenset[str], uid: str | None = None) -> set[SecretKey]:
        """Records what ``ref`` uses now; returns the Secrets whose consumers changed."""
        with self._lock:
            before = self._by_workload.get(ref, frozenset())
            self._uids[ref] = uid
            if secrets:
                self._by_workload[ref] = secrets
            else:
                self._by_workload.pop(ref, None)
                self._uids.pop(ref, None)
            for name in before - secrets:
                self._by_secret.get((ref.namespace, name), set()).discard(ref)
            for name in secrets - before:
                self._by_secret.setdefault((ref.namespace, name), set()).add(ref)
            return {(ref.namespace, name) for name in before ^ secrets}

    def forget(self, ref: WorkloadRef) -> set[SecretKey]:
        return self.update(ref, frozenset())

    def consumers_of(self, secrets: Iterable[SecretKey]) -> list[Consumer]:
        with self._lock:
            found = {
                Consumer(ref.kind, ref.namespace, ref.name, name)
                for namespace, name in secrets
                for ref in self._by_secret.get((namespace, name), ())
            }
        return sorted(found)

    def object_ref(self, consumer: Consumer) -> ObjectRef:
        ref = WorkloadRef(consumer.kind, consumer.namespace, consumer.name)
        with self._lock:
            uid = self._uids.get(ref)
        return ObjectRef(
            API_VERSIONS.get(consumer.kind, "v1"), consumer.kind, consumer.namespace, consumer.name, uid
        )

    def register_owner(self, owner: str, secrets: Iterable[SecretKey]) -> None:
        """Remembers that ManagedSecret ``owner`` writes ``secrets`` (so their consumers wake it)."""
        wanted = set(secrets)
        with self._lock:
            for key, owners in self._owners.items():
                if key not in wanted:
                    owners.discard(owner)
            for key in wanted:
                self._owners.setdefault(key, set()).add(owner)

    def owners_of(self, secrets: Iterable[SecretKey]) -> set[str]:
        with self._lock:
            return {owner for key in secrets for owner in self._owners.get(key, ())}


def consumers_field(
    index: ConsumerIndex, owner: str, namespace: str, spec: Mapping[str, Any]
) -> list[dict[str, str]] | None:
    """``status.consumers`` for a ManagedSecret's Kubernetes Secrets; registers them for wake-ups."""
    secrets = [(t.get("namespace") or namespace, t["name"]) for t in spec.get("kubernetesSecrets") or []]
    index.register_owner(owner, secrets)
    return consumers_status(index.consumers_of(secrets)) or None
