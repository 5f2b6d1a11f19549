"""The Kubernetes side of leader election: one ``coordination.k8s.io/v1`` Lease, read and written
with optimistic concurrency (its resourceVersion), for ``sync.leader``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from vaultsync.sync.leader import LeaseConflict, LeaseRecord


class KubeLease:
    def __init__(self, api_client: Any, namespace: str, name: str) -> None:
        self._api = k8s.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name

    def get(self) -> LeaseRecord | None:
        try:
            lease = self._api.read_namespaced_lease(self.name, self.namespace, _request_timeout=5)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        spec = lease.spec
        return LeaseRecord(
            holder=spec.holder_identity,
            lease_duration_seconds=int(spec.lease_duration_seconds or 0),
            acquire_time=spec.acquire_time,
            renew_time=spec.renew_time,
            transitions=int(spec.lease_transitions or 0),
            resource_version=lease.metadata.resource_version,
        )

    def create(self, record: LeaseRecord) -> LeaseRecord:
        try:
            lease = self._api.create_namespaced_lease(self.namespace, self._body(record), _request_timeout=5)
        except ApiException as e:
            if e.status == 409:
                raise LeaseConflict(self.name) from e
            raise
        return _with_version(record, lease)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        try:
            lease = self._api.replace_namespaced_lease(
                self.name, self.namespace, self._body(record), _request_timeout=5
            )
        except ApiException as e:
            if e.status == 409:
                raise LeaseConflict(self.name) from e
            raise
        return _with_version(record, lease)

    def _body(self, record: LeaseRecord) -> k8s.V1Lease:
        return k8s.V1Lease(
            metadata=k8s.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=record.resource_version
            ),
            spec=k8s.V1LeaseSpec(
                holder_identity=record.holder,
                lease_duration_seconds=record.lease_duration_seconds,
                acquire_time=_micro(record.acquire_time),
                renew_time=_micro(record.renew_time),
                lease_transitions=record.transitions,
            ),
        )


def _with_version(record: LeaseRecord, lease: Any) -> LeaseRecord:
    return LeaseRecord(
        record.holder,
        record.lease_duration_seconds,
        record.acquire_time,
        record.renew_time,
        record.transitions,
        lease.metadata.resource_version,
    )


def _micro(moment: datetime | None) -> datetime | None:
    """The client writes a datetime without its fraction when it is 0; a MicroTime needs one."""
    return moment.replace(microsecond=1) if moment is not None and moment.microsecond == 0 else moment
