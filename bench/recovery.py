"""Benchmark of recovery: how long N ManagedSecrets take to converge after an outage ends.

Starts the local stack (kube-apiserver, etcd, OpenBao, moto) and the operator as a real process,
which reaches the vaults through a loopback TCP proxy (``tests/faultproxy.py``). N secrets, each
OpenBao -> AWS + a Kubernetes Secret, are synced; then one outage at a time:

- ``openbao`` / ``moto``: the proxy refuses connections for ``--outage`` seconds while every
  source changes (written to OpenBao directly); measured from the end of the outage;
- ``apiserver``: kube-apiserver is stopped for ``--outage`` seconds while every source changes;
  measured from the moment it answers again.

Two numbers per outage: until every target holds the new content, and until every ManagedSecret
is Synced at the new version.

Run:  .venv/bin/python -m bench.recovery [--secrets 300] [--outage 60] [--only openbao,moto,apiserver]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import hvac
from kubernetes import client

from bench.operator_scale import start_operator
from vaultsync_devstack import Stack, demo
from vaultsync_devstack.authors import create_authored
from vaultsync_devstack.process import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from faultproxy import TcpProxy

NAMESPACE = "bench-recovery"
GROUP, VERSION = "vaultsync.io", "v1alpha1"


class World:
    def __init__(self, stack: Stack, secrets: int) -> None:
        self.stack, self.secrets = stack, secrets
        self.kube, self.bao_server, self.moto = stack.kube, stack.openbao, stack.moto
        api = self.kube.api_client()
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        self.vault = hvac.Client(url=self.bao_server.address, token=self.bao_server.root_token, timeout=10)
        self.aws = boto3.client(
            "secretsmanager",
            region_name=self.moto.region,
            endpoint_url=self.moto.endpoint,
            aws_access_key_id=self.moto.access_key_id,
            aws_secret_access_key=self.moto.secret_access_key,
        )
        self.bao_proxy = TcpProxy(int(self.bao_server.address.rsplit(":", 1)[1]))
        self.aws_proxy = TcpProxy(int(self.moto.endpoint.rsplit(":", 1)[1]))
        self.values: dict[int, str] = {}
        self.version = 0

    def write_sources(self) -> None:
        self.version += 1
        self.values = {i: uuid.uuid4().hex for i in range(self.secrets)}
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda i: self.vault.secrets.kv.v2.create_or_update_secret(
                        path=f"recovery/s{i}", secret={"apiKey": self.values[i]}
                    ),
                    range(self.secrets),
                )
            )

    def _create(self, plural: str, name: str, spec: dict[str, Any]) -> None:
        kind = {"vaultprofiles": "VaultProfile", "managedsecrets": "ManagedSecret"}[plural]
        metadata = {"name": name, "namespace": NAMESPACE}
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": metadata, "spec": spec}
        # No webhook runs here: the record the author webhook would write, so credentials are usable.
        create_authored(self.core, self.custom, plural, body)

    def set_up(self) -> None:
        self.kube.kubectl("apply", "--server-side", "-f", str(demo.REPO / "crds"))
        for plural in demo.KINDS.split(","):
            self.kube.wait_established(f"{plural}.vaultsync.io")
        self.kube.kubectl("create", "namespace", demo.OPERATOR_NAMESPACE)
        self.kube.kubectl("create", "namespace", NAMESPACE)
        self.core.create_namespaced_secret(
            NAMESPACE,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="creds"),
                string_data={
                    "token": self.bao_server.root_token,
                    "accessKeyId": self.moto.access_key_id,
                    "secretAccessKey": self.moto.secret_access_key,
                },
            ),
        )
        bao = {
            "address": f"http://{self.bao_proxy.url_host}",
            "auth": {"token": {"secretRef": {"name": "creds", "key": "token"}}},
        }
        self._create("vaultprofiles", "bao", {"provider": {"hashicorp": bao}})
        aws = {
            "region": self.moto.region,
            "endpoint": f"http://{self.aws_proxy.url_host}",
            "auth": {"accessKey": {"secretRef": {"name": "creds"}}},
        }
        self._create("vaultprofiles", "aws", {"provider": {"aws": aws}})
        self.write_sources()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(self._managed_secret, range(self.secrets)))

    def _managed_secret(self, i: int) -> None:
        self._create(
            "managedsecrets",
            f"s{i}",
            {
                "type": "api-key",
                "source": {"vaultProfile": {"name": "bao"}, "path": f"recovery/s{i}"},
                "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": f"recovery/s{i}-copy"}],
                "kubernetesSecrets": [{"name": f"s{i}"}],
                "refreshInterval": "30s",
            },
        )

    def _aws_value(self, i: int) -> str:
        stages = self.aws.describe_secret(SecretId=f"recovery/s{i}-copy").get("VersionIdsToStages") or {}
        current = [v for v, s in stages.items() if "AWSCURRENT" in s][-1]
        text = self.aws.get_secret_value(SecretId=f"recovery/s{i}-copy", VersionId=current)["SecretString"]
        return str(json.loads(text)["apiKey"])

    def content_everywhere(self) -> int:
        """How many secrets hold the current source value in both targets."""
        secrets = self.core.list_namespaced_secret(NAMESPACE).items
        in_kube = {
            s.metadata.name
            for s in secrets
            if s.metadata.name.startswith("s")
            and base64.b64decode((s.data or {}).get("apiKey", "")).decode()
            == self.values.get(int(s.metadata.name[1:]) if s.metadata.name[1:].isdigit() else -1)
        }
        with ThreadPoolExecutor(16) as pool:
            in_aws = sum(
                pool.map(
                    lambda i: f"s{i}" in in_kube and self._aws_value(i) == self.values[i], range(self.secrets)
                )
            )
        return int(in_aws)

    def synced(self) -> int:
        items = self.custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "managedsecrets")[
            "items"
        ]
        return sum(
            1
            for item in items
            if (item.get("status") or {}).get("phase") == "Synced"
            and (item.get("status") or {}).get("currentVersion") == self.version
        )

    def wait(self, started: float, limit: float) -> dict[str, float]:
        content_at = synced_at = None
        while time.monotonic() - started < limit:
            try:
                if content_at is None and self.content_everywhere() == self.secrets:
                    content_at = time.monotonic() - started
                if synced_at is None and self.synced() == self.secrets:
                    synced_at = time.monotonic() - started
            except Exception as e:  # the apiserver may still be coming back
                print(f"  (probe failed: {type(e).__name__})", file=sys.stderr)
            if content_at is not None and synced_at is not None:
                return {"content_everywhere_s": round(content_at, 1), "all_synced_s": round(synced_at, 1)}
            time.sleep(1)
        raise TimeoutError(f"not converged within {limit}s: content {content_at}, synced {synced_at}")


def run(secrets: int, outage: float, only: list[str]) -> dict[str, Any]:
    stack = Stack(state=Path(tempfile.mkdtemp(prefix="vaultsync-bench-recovery-")))
    results: dict[str, Any] = {"secrets": secrets, "outage_seconds": outage}
    try:
        world = World(stack, secrets)
        world.set_up()
        operator = start_operator(stack, free_port(), VAULTSYNC_WATCH_NAMESPACES=NAMESPACE)
        started = time.monotonic()
        results["initial"] = world.wait(started, 120 + secrets * 2)
        for name in only:
            print(f"== {name} outage of {outage:.0f}s", file=sys.stderr)
            if name == "apiserver":
                apiserver = next(p for p in stack.kube.processes if p.name == "kube-apiserver")
                apiserver.stop()
                world.write_sources()
                time.sleep(outage)
                apiserver.start()
            else:
                proxy = world.bao_proxy if name == "openbao" else world.aws_proxy
                proxy.refuse()
                world.write_sources()
                time.sleep(outage)
                proxy.heal()
            results[name] = world.wait(time.monotonic(), 600)
            print(f"   {results[name]}", file=sys.stderr)
        log = operator.log_path.read_text(errors="replace")
        results["operator_log"] = {
            "lines": log.count("\n"),
            "tracebacks": log.count("Traceback"),
            "pool_full_warnings": log.count("Connection pool is full"),
        }
        return results
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--secrets", type=int, default=300)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--only", default="openbao,moto,apiserver")
    args = parser.parse_args()
    print(json.dumps(run(args.secrets, args.outage, args.only.split(",")), indent=2))


if __name__ == "__main__":
    main()
