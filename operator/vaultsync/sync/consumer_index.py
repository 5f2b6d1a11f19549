"""The operator's memory of which workloads use which Secrets, fed by workload watch events.

Kept in memory, indexed by Secret, so a sync can fill ``status.consumers`` without listing
workloads, and a workload change wakes only the ManagedSecrets whose Secrets it touches. Each
namespace is seeded by one listing the first time a sync needs it; what the watch has already
reported wins over that listing. Thread-safe: watch handlers write on the event loop, syncs read
from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import MappingProxyType

from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.backends.errors import BackendError
from vaultsync.reconcile.consumers import Consumer, WorkloadRef, consumers_status
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.notices import ObjectRef
from vaultsync.sync.workload_listing import ListedWorkload, list_workloads

SecretKey = tuple[str, str]
"""(namespace, name) of a Secret."""

API_VERSIONS = MappingProxyType(
    {
        "Deployment": "apps/v1",
        "StatefulSet": "apps/v1",
        "DaemonSet": "apps/v1",
        "Job": "batch/v1",
        "CronJob": "batch/v1",
        "Pod": "v1",
    }
)


class ConsumerIndex:
    def __init__(self, lister: Callable[[str], Iterable[ListedWorkload]] | None = None) -> None:
        """``lister`` seeds a namespace (``None``: only watch events fill the index)."""
        self._lister = lister
        self._seeded: set[str] = set()
        self._seeding: set[str] = set()
        self._watched: set[WorkloadRef] = set()
        """Workloads a watch event reported while their namespace was being listed: newer than the listing."""
        self._lock = threading.Lock()
        self._by_workload: dict[WorkloadRef, frozenset[str]] = {}
        self._uids: dict[WorkloadRef, str | None] = {}
        self._by_secret: dict[SecretKey, set[WorkloadRef]] = {}
        self._owners: dict[SecretKey, set[str]] = {}
        self._written_by: dict[str, set[SecretKey]] = {}
        """Owner -> the Secrets it registered last, so a new registration touches only those."""

    @classmethod
    def for_kube(cls, kube: KubeApi) -> ConsumerIndex:
        return cls(lambda namespace: list_workloads(kube, namespace))

    def seed(self, namespaces: Iterable[str]) -> None:
        """Lists the workloads of namespaces not seeded yet; a failed listing is retried next time."""
        if self._lister is None:
            return
        with self._lock:
            wanted = sorted(set(namespaces) - self._seeded - self._seeding)
            self._seeding.update(wanted)
        for namespace in wanted:
            try:
                listed = list(self._lister(namespace))
            except BackendError:
                listed = None
            with self._lock:
                for ref, secrets, uid in listed or []:
                    if ref not in self._watched:
                        self._apply_locked(ref, secrets, uid)
                self._seeding.discard(namespace)
                self._watched = {ref for ref in self._watched if ref.namespace != namespace}
                if listed is not None:
                    self._seeded.add(namespace)

    def update(self, ref: WorkloadRef, secrets: frozenset[str], uid: str | None = None) -> set[SecretKey]:
        """Records what a watch event says ``ref`` uses now; returns the Secrets whose consumers changed."""
        with self._lock:
            if ref.namespace in self._seeding:
                self._watched.add(ref)
            return self._apply_locked(ref, secrets, uid)

    def _apply_locked(self, ref: WorkloadRef, secrets: frozenset[str], uid: str | None) -> set[SecretKey]:
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
            for key in self._written_by.get(owner, set()) - wanted:
                owners = self._owners.get(key, set())
                owners.discard(owner)
                if not owners:
                    self._owners.pop(key, None)
            for key in wanted:
                self._owners.setdefault(key, set()).add(owner)
            if wanted:
                self._written_by[owner] = wanted
            else:
                self._written_by.pop(owner, None)

    def owners_of(self, secrets: Iterable[SecretKey]) -> set[str]:
        with self._lock:
            return {owner for key in secrets for owner in self._owners.get(key, ())}


def consumers_field(
    index: ConsumerIndex, owner: str, namespace: str, spec: ManagedSecretSpec
) -> list[dict[str, str]] | None:
    """``status.consumers`` for a ManagedSecret's Kubernetes Secrets; registers them for wake-ups."""
    secrets = [(t.namespace or namespace, t.name) for t in spec.kubernetes_secrets]
    index.register_owner(owner, secrets)
    index.seed(ns for ns, _ in secrets)
    return consumers_status(index.consumers_of(secrets)) or None
