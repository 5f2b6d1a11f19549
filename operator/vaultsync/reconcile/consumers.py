"""Which workloads use which Secrets, read from their pod templates.

"Where is this secret used?" must be answerable before anyone changes or deactivates it, and
it must not depend on Pods running (a Deployment scaled to zero still uses its Secret). So the
answer comes from the workload objects' pod templates: env ``secretKeyRef``, ``envFrom``
``secretRef``, ``secret`` volumes and ``projected`` volume sources, in every container kind.
Pods and Jobs created by a controller are skipped: their controller is the consumer.

Pure: the caller hands in API objects as JSON (camelCase) mappings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
"""Workload kind -> where its pod spec lives."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """One workload object."""

    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, order=True)
class Consumer:
    """One (workload, Secret) use; ordered so ``status.consumers`` is stable."""

    kind: str
    namespace: str
    name: str
    secret: str

    def to_status(self) -> dict[str, str]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "secret": self.secret}


def _dig(obj: Mapping[str, Any], path: Iterable[str]) -> Mapping[str, Any] | None:
    current: Any = obj
    for step in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(step)
    return current if isinstance(current, Mapping) else None


def _items(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def is_controlled(obj: Mapping[str, Any]) -> bool:
    """True when a controller owns the object (its controller is the consumer, not it)."""
    owners = _items((obj.get("metadata") or {}).get("ownerReferences"))
    return any(owner.get("controller") for owner in owners)


def pod_spec_of(kind: str, obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(kind)
    return _dig(obj, path) if path else None


def _names_in_container(container: Mapping[str, Any]) -> Iterator[str]:
    for env in _items(container.get("env")):
        ref = _dig(env, ("valueFrom", "secretKeyRef"))
        if ref and ref.get("name"):
            yield str(ref["name"])
    for source in _items(container.get("envFrom")):
        ref = _dig(source, ("secretRef",))
        if ref and ref.get("name"):
            yield str(ref["name"])


def _names_in_volume(volume: Mapping[str, Any]) -> Iterator[str]:
    secret = _dig(volume, ("secret",))
    if secret and secret.get("secretName"):
        yield str(secret["secretName"])
    for source in _items((_dig(volume, ("projected",)) or {}).get("sources")):
        ref = _dig(source, ("secret",))
        if ref and ref.get("name"):
            yield str(ref["name"])


def secrets_in_pod_spec(pod_spec: Mapping[str, Any]) -> frozenset[str]:
    """Names of the Secrets (in the pod's namespace) a pod spec reads through env or volumes."""
    names: set[str] = set()
    for list_name in CONTAINER_LISTS:
        for container in _items(pod_spec.get(list_name)):
            names.update(_names_in_container(container))
    for volume in _items(pod_spec.get("volumes")):
        names.update(_names_in_volume(volume))
    return frozenset(names)


def secrets_used_by(kind: str, obj: Mapping[str, Any]) -> frozenset[str]:
    """The Secrets a workload object uses; empty for controlled Pods/Jobs and unknown kinds."""
    if kind in ("Pod", "Job") and is_controlled(obj):
        return frozenset()
    pod_spec = pod_spec_of(kind, obj)
    return secrets_in_pod_spec(pod_spec) if pod_spec else frozenset()


def consumers_status(consumers: Iterable[Consumer]) -> list[dict[str, str]]:
    """``status.consumers``: sorted and without duplicates, so an unchanged set makes no PATCH."""
    return [consumer.to_status() for consumer in sorted(set(consumers))]
