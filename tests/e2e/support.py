"""Helpers for end-to-end tests: drive resources and wait for the operator."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from vaultsync_devstack import authors
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess

GROUP, VERSION = "vaultsync.io", "v1alpha1"


class Cluster:
    """Helpers over the admin client for one test namespace."""

    def __init__(self, kube: KubeControlPlane, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        api = kube.api_client()
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def secret(self, name: str, data: dict[str, str], namespace: str | None = None) -> None:
        self.core.create_namespaced_secret(
            namespace or self.namespace,
            client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data),
        )

    def _body(self, plural: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        kind = {"vaultprofiles": "VaultProfile", "managedsecrets": "ManagedSecret"}[plural]
        metadata = {"name": name, "namespace": self.namespace}
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": metadata, "spec": spec}

    def create(self, plural: str, name: str, spec: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, self._body(plural, name, spec)
        )

    def create_authored(self, plural: str, name: str, spec: dict[str, Any]) -> None:
        """Creates with the author record the admission webhook would write for the admin: for
        operators that serve no webhook here (chaos, failover, the image)."""
        authors.create_authored(self.core, self.custom, plural, self._body(plural, name, spec))

    def get(self, plural: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name
        )
        return found

    def patch(self, plural: str, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name, body)

    def delete(self, plural: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def gone(self, plural: str, name: str) -> bool:
        try:
            self.get(plural, name)
        except client.ApiException as e:
            return e.status == 404
        return False

    def secret_data(self, name: str, namespace: str | None = None) -> dict[str, str]:
        secret = self.core.read_namespaced_secret(name, namespace or self.namespace)
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def events(self, name: str) -> list[Any]:
        listed = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}")
        return list(listed.items)


def openbao_provider(openbao: Any, token_secret: str = "bao-token") -> dict[str, Any]:  # noqa: S107
    """``spec.provider`` of a VaultProfile for the OpenBao dev server's KV v2 mount, with a token
    from the Secret ``token_secret`` (key ``token``)."""
    return {
        "hashicorp": {
            "address": openbao.address,
            "mount": "secret",
            "kvVersion": 2,
            "auth": {"token": {"secretRef": {"name": token_secret, "key": "token"}}},
        }
    }


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def operator_log(process: ManagedProcess) -> str:
    return process.log_path.read_text(errors="replace")


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
