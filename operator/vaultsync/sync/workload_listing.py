"""One listing of the workloads of a namespace, to seed the consumer index.

Watch events keep the index current, but they arrive on their own schedule after a start; a sync
that ran before them would publish an empty ``status.consumers`` and patch it back moments later.
So the first sync that needs a namespace lists its workloads once (six list calls).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType

from vaultsync.backends.errors import Unavailable
from vaultsync.backends.kube_http import resource_path
from vaultsync.reconcile.consumers import WorkloadRef, secrets_used_by
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError

ListedWorkload = tuple[WorkloadRef, frozenset[str], str | None]
"""(workload, Secret names it uses, uid)."""


_COLLECTIONS = MappingProxyType(
    {
        "Deployment": ("apps", "v1", "deployments"),
        "StatefulSet": ("apps", "v1", "statefulsets"),
        "DaemonSet": ("apps", "v1", "daemonsets"),
        "Job": ("batch", "v1", "jobs"),
        "CronJob": ("batch", "v1", "cronjobs"),
        "Pod": ("", "v1", "pods"),
    }
)


def list_workloads(kube: KubeApi, namespace: str) -> Iterator[ListedWorkload]:
    for kind, (group, version, plural) in _COLLECTIONS.items():
        try:
            listed = kube.http.get(resource_path(group, version, plural, namespace)) or {}
        except KubeStatusError as e:
            raise Unavailable(f"listing {kind}s in {namespace} failed: HTTP {e.status}") from e
        for body in listed.get("items") or []:
            metadata = body.get("metadata") or {}
            ref = WorkloadRef(kind, namespace, str(metadata.get("name")))
            yield ref, secrets_used_by(kind, body), metadata.get("uid")
