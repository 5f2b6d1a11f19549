"""The writable backends under contract, each on its real server of the local stack.

A :class:`Target` bundles a fresh backend (isolated by a unique path prefix or namespace per
test), the server handle whose ``stopped()`` simulates an outage, and a way to plant a remote
secret that vaultsync does not own, written with the vault's own SDK.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import boto3
import hvac
import pytest
from kubernetes import client as k8s

from keyvault_server.target import AzureVault
from memory_vault import MemoryVault
from operator_kube import operator_http
from vaultsync.backends.interface import Backend, Credentials, Document
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync.secrets.formats import azure_name_for_path

HTTP_TIMEOUT = 2.0


@dataclass
class Target:
    name: str
    backend: Backend
    stopped: Callable[[], AbstractContextManager[Any]]
    plant_foreign: Callable[[str, Document], None]
    path_for: Callable[[str], str]


def _hashicorp(request: pytest.FixtureRequest, kv_version: int) -> Iterator[Target]:
    openbao = request.getfixturevalue("openbao")
    prefix = f"contract-{uuid.uuid4().hex[:10]}"
    mount = "secret" if kv_version == 2 else "kv1"
    backend = create_backend(
        "hashicorp",
        {
            "address": openbao.address,
            "mount": mount,
            "kvVersion": kv_version,
            "pathPrefix": prefix,
            "auth": {"token": {"secretRef": {"name": "bao", "key": "token"}}},
        },
        Credentials({"token": openbao.root_token}),
        http_timeout=HTTP_TIMEOUT,
    )
    raw = hvac.Client(url=openbao.address, token=openbao.root_token, timeout=5)

    def plant(path: str, document: Document) -> None:
        if kv_version == 2:
            raw.secrets.kv.v2.create_or_update_secret(f"{prefix}/{path}", document, mount_point=mount)
        else:
            raw.secrets.kv.v1.create_or_update_secret(f"{prefix}/{path}", document, mount_point=mount)

    yield Target(f"openbao-kv{kv_version}", backend, openbao.stopped, plant, lambda name: name)
    backend.close()


def _aws(request: pytest.FixtureRequest) -> Iterator[Target]:
    moto = request.getfixturevalue("moto")
    prefix = f"contract-{uuid.uuid4().hex[:10]}"
    backend = create_backend(
        "aws",
        {
            "region": moto.region,
            "endpoint": moto.endpoint,
            "auth": {"accessKey": {"secretRef": {"name": "aws"}}},
        },
        Credentials({"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key}),
        http_timeout=HTTP_TIMEOUT,
    )
    raw = boto3.client(
        "secretsmanager",
        region_name=moto.region,
        endpoint_url=moto.endpoint,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
    )

    def plant(path: str, document: Document) -> None:
        raw.create_secret(Name=path, SecretString=json.dumps(document))

    yield Target("moto", backend, moto.stopped, plant, lambda name: f"{prefix}/{name}")
    backend.close()


def _kubernetes(request: pytest.FixtureRequest) -> Iterator[Target]:
    kube = request.getfixturevalue("kube")
    namespace = f"contract-{uuid.uuid4().hex[:10]}"
    admin = operator_http(kube)  # as the operator connects
    raw_client = kube.api_client()
    core = k8s.CoreV1Api(raw_client)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
    backend = create_backend(
        "kubernetes",
        {"namespace": namespace},
        context=BackendContext(http_timeout=HTTP_TIMEOUT, kube_http=admin),
    )

    def plant(path: str, document: Document) -> None:
        data = {key: base64.b64encode(str(value).encode()).decode() for key, value in document.items()}
        core.create_namespaced_secret(
            namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=path), type="Opaque", data=data)
        )

    apiserver = next(process for process in kube.processes if process.name == "kube-apiserver")
    yield Target("kube", backend, apiserver.stopped, plant, lambda name: name)
    backend.close()
    core.delete_namespace(namespace)
    admin.close()
    raw_client.close()


def _memory(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The in-memory vault the sync service's unit tests use, held to the same contract."""
    vault = MemoryVault()
    yield Target("memory", vault, vault.outage, vault.plant, lambda name: f"contract/{name}")


def _azure(request: pytest.FixtureRequest) -> Iterator[Target]:
    vault: AzureVault = request.getfixturevalue("azure_vault")
    prefix = f"contract-{uuid.uuid4().hex[:10]}"
    backend = vault.backend()
    raw = vault.raw_client()

    def plant(path: str, document: Document) -> None:
        raw.set_secret(azure_name_for_path(path), json.dumps(document), content_type="application/json")

    yield Target(vault.name, backend, vault.stopped, plant, lambda name: f"{prefix}/{name}")
    backend.close()
    raw.close()


TARGETS: dict[str, Callable[[pytest.FixtureRequest], Iterator[Target]]] = {
    "openbao-kv2": lambda request: _hashicorp(request, 2),
    "openbao-kv1": lambda request: _hashicorp(request, 1),
    "moto": _aws,
    "memory": _memory,
    "kube": _kubernetes,
    "azure": _azure,
}


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.azure] if name == "azure" else []) for name in sorted(TARGETS)
    ]
)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    yield from TARGETS[request.param](request)
