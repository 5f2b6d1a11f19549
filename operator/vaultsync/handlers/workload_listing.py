"""One listing of the workloads of a namespace, to seed the consumer index.

Watch events keep the index current, but they arrive on their own schedule after a start; a sync
that ran before them would publish an empty ``status.consumers`` and patch it back moments later.
So the first sync that needs a namespace lists its workloads once (six list calls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client.rest import ApiException

from vaultsync.backends.errors import Unavailable
from vaultsync.handlers.kubeapi import KubeApi
from vaultsync.reconcile.consumers import WorkloadRef, secrets_used_by

ListedWorkload = tuple[WorkloadRef, frozenset[str], str | None]
"""(workload, Secret names it uses, uid)."""


def _listers(kube: KubeApi) -> dict[str, Callable[..., Any]]:
    from kubernetes import client  # noqa: PLC0415 - the typed clients of the calls below

    batch = client.BatchV1Api(kube.api_client)
    return {
        "Deployment": kube.apps.list_namespaced_deployment,
        "StatefulSet": kube.apps.list_namespaced_stateful_set,
        "DaemonSet": kube.apps.list_namespaced_daemon_set,
        "Job": batch.list_namespaced_job,
        "CronJob": batch.list_namespaced_cron_job,
        "Pod": kube.core.list_namespaced_pod,
    }


def list_workloads(kube: KubeApi, namespace: str) -> Iterator[ListedWorkload]:
    for kind, lister in _listers(kube).items():
        try:
            listed = lister(namespace)
        except ApiException as e:
            raise Unavailable(f"listing {kind}s in {namespace} failed: HTTP {e.status}") from e
        for item in listed.items:
            body = kube.api_client.sanitize_for_serialization(item)
            metadata = body.get("metadata") or {}
            ref = WorkloadRef(kind, namespace, str(metadata.get("name")))
            yield ref, secrets_used_by(kind, body), metadata.get("uid")
