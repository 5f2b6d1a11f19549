"""kopf glue for "where used": workload watch events keep the consumer index current.

Every Deployment, StatefulSet, DaemonSet, Job, CronJob and bare Pod is read once per change;
only its Secret names are kept. A change of which Secrets a workload uses wakes exactly the
ManagedSecrets that write those Secrets, so ``status.consumers`` follows within seconds and a
workload change that touches no Secret costs nothing.
"""

from __future__ import annotations

from typing import Any

import kopf

from vaultsync.handlers.runtime import runtime
from vaultsync.reconcile.consumers import WorkloadRef, secrets_used_by

WORKLOAD_RESOURCES = (
    ("Deployment", "apps", "v1", "deployments"),
    ("StatefulSet", "apps", "v1", "statefulsets"),
    ("DaemonSet", "apps", "v1", "daemonsets"),
    ("Job", "batch", "v1", "jobs"),
    ("CronJob", "batch", "v1", "cronjobs"),
    ("Pod", "", "v1", "pods"),
)


def workload_changed(kind: str, event_type: str | None, body: kopf.Body) -> None:
    rt = runtime()
    index = rt.engine.consumers
    ref = WorkloadRef(kind, str(body.metadata.namespace), str(body.metadata.name))
    if event_type == "DELETED":
        changed = index.forget(ref)
    else:
        changed = index.update(ref, secrets_used_by(kind, body), body.metadata.uid)
    for owner in sorted(index.owners_of(changed)):
        rt.force_sync(owner)


def _register(kind: str, group: str, version: str, plural: str) -> None:
    @kopf.on.event(group, version, plural, id=f"consumers-{plural}")
    async def on_workload(type: str | None, body: kopf.Body, **_: Any) -> None:
        workload_changed(kind, type, body)


for _kind, _group, _version, _plural in WORKLOAD_RESOURCES:
    _register(_kind, _group, _version, _plural)
