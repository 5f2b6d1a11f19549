"""The Kubernetes side of leader election: one ``coordination.k8s.io/v1`` Lease, read and written
with optimistic concurrency (its resourceVersion), for ``sync.leader``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vaultsync.backends.kube_http import KubeHttp, KubeStatusError, resource_path
from vaultsync.sync.leader import LeaseConflict, LeaseRecord

TIMEOUT = 5.0


class KubeLease:
    def __init__(self, http: KubeHttp, namespace: str, name: str) -> None:
        self._http = http
        self.namespace = namespace
        self.name = name

    def _path(self, name: str | None = None) -> str:
        return resource_path("coordination.k8s.io", "v1", "leases", self.namespace, name)

    def get(self) -> LeaseRecord | None:
        try:
            lease = self._http.request("GET", self._path(self.name), timeout=TIMEOUT)
        except KubeStatusError as e:
            if e.status == 404:
                return None
            raise
        spec = lease.get("spec") or {}
        return LeaseRecord(
            holder=spec.get("holderIdentity"),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=_parsed(spec.get("acquireTime")),
            renew_time=_parsed(spec.get("renewTime")),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=(lease.get("metadata") or {}).get("resourceVersion"),
        )

    def create(self, record: LeaseRecord) -> LeaseRecord:
        return self._write("POST", self._path(), record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        return self._write("PUT", self._path(self.name), record)

    def _write(self, method: str, path: str, record: LeaseRecord) -> LeaseRecord:
        try:
            lease = self._http.request(method, path, body=self._body(record), timeout=TIMEOUT)
        except KubeStatusError as e:
            if e.status == 409:
                raise LeaseConflict(self.name) from e
            raise
        return _with_version(record, lease)

    def _body(self, record: LeaseRecord) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.resource_version:
            metadata["resourceVersion"] = record.resource_version
        spec = {
            "holderIdentity": record.holder,
            "leaseDurationSeconds": record.lease_duration_seconds,
            "acquireTime": _micro_time(record.acquire_time),
            "renewTime": _micro_time(record.renew_time),
            "leaseTransitions": record.transitions,
        }
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {key: value for key, value in spec.items() if value is not None},
        }


def _with_version(record: LeaseRecord, lease: Mapping[str, Any]) -> LeaseRecord:
    return LeaseRecord(
        record.holder,
        record.lease_duration_seconds,
        record.acquire_time,
        record.renew_time,
        record.transitions,
        (lease.get("metadata") or {}).get("resourceVersion"),
    )


def _micro_time(moment: datetime | None) -> str | None:
    """A ``MicroTime``: UTC with six fraction digits, as the API server requires."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parsed(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None
