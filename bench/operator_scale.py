"""Benchmark of the whole operator at scale: N ManagedSecrets from OpenBao into Kubernetes Secrets.

Starts the local stack (kube-apiserver, etcd, OpenBao), the CRDs and the operator as a real
process, writes N sources into OpenBao, creates N ManagedSecrets (each with one Kubernetes
Secret target) and measures:

- time from creating the ManagedSecrets to all of them Synced (and syncs per second);
- the steady state over several refresh intervals: PATCHes of ManagedSecrets counted by the
  apiserver itself, Secret writes, and the operator's vault calls by operation;
- the cost of one source change among N: time until its Kubernetes Secret holds the new value;
- the operator's peak resident memory (VmHWM) and every request the apiserver served from the
  creation of the ManagedSecrets until all were Synced.

Run:  .venv/bin/python -m bench.operator_scale [--secrets 1000] [--refresh 20] [--cycles 3]
Each run is appended to bench/results/operator_scale.jsonl; ``python -m bench.plot_scale`` draws
docs/operator-scale.svg from that file.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hvac
from kubernetes import client

from vaultsync.devstack import Stack, demo
from vaultsync.devstack.kube import KubeControlPlane
from vaultsync.devstack.process import ManagedProcess, free_port, port_open
from vaultsync.devstack.webhook import serve_webhooks

NAMESPACE = "bench-scale"
RESULTS = Path(__file__).resolve().parent / "results" / "operator_scale.jsonl"
GROUP, VERSION = "vaultsync.io", "v1alpha1"


def _apiserver_requests(kube: KubeControlPlane, verb: str, resource: str) -> float:
    text = kube.kubectl("get", "--raw", "/metrics").stdout
    pattern = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$")
    total = 0.0
    for line in text.splitlines():
        match = pattern.match(line)
        if match and f'verb="{verb}"' in match[1] and f'resource="{resource}"' in match[1]:
            total += float(match[2])
    return total


def _all_apiserver_requests(kube: KubeControlPlane) -> float:
    text = kube.kubectl("get", "--raw", "/metrics").stdout
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("apiserver_request_total{")
    )


def _peak_rss_mib(pid: int | None) -> float | None:
    """Peak resident set size of a process (VmHWM), in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match[1]) / 1024, 1) if match else None


def _operator_calls(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    calls: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("vaultsync_backend_calls_total{"):
            operation = re.search(r'operation="([^"]+)"', line)
            if operation:
                calls[operation[1]] = calls.get(operation[1], 0.0) + float(line.rsplit(" ", 1)[1])
    return calls


def _phases(custom: Any) -> dict[str, int]:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "managedsecrets")["items"]
    counts: dict[str, int] = {}
    for item in items:
        phase = (item.get("status") or {}).get("phase", "None")
        counts[phase] = counts.get(phase, 0) + 1
    return counts


def start_operator(stack: Stack, metrics_port: int, **env: str) -> ManagedProcess:
    """The operator as a process of the stack (stopped with it), with its admission webhooks: they
    record who wrote each spec, which the operator needs before it uses a profile's credentials;
    ``env`` adds settings."""
    kube = stack.kube
    serving = serve_webhooks(kube, stack.state)
    log = stack.state / "operator" / "logs" / "operator.log"
    operator = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in log.read_text(errors="replace") and port_open(serving.port),
        env={
            **serving.env,
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": demo.OPERATOR_NAMESPACE,
            "VAULTSYNC_METRICS_PORT": str(metrics_port),
            "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
            **env,
        },
    )
    stack.attached.append(operator)
    operator.start()
    return operator


def _one_change(vault: hvac.Client, core: Any, target: int, refresh: int) -> float:
    """Seconds from writing a new value of one source until its Kubernetes Secret holds it."""
    new_value = uuid.uuid4().hex
    changed_at = time.monotonic()
    vault.secrets.kv.v2.create_or_update_secret(path=f"scale/s{target}", secret={"apiKey": new_value})
    while True:
        data = core.read_namespaced_secret(f"s{target}", NAMESPACE).data or {}
        if base64.b64decode(data.get("apiKey", "")).decode() == new_value:
            return time.monotonic() - changed_at
        if time.monotonic() - changed_at > refresh * 3 + 30:
            raise TimeoutError("change not propagated")
        time.sleep(0.2)


def run(secrets: int, refresh: int, cycles: int) -> dict[str, Any]:
    stack = Stack(state=Path(tempfile.mkdtemp(prefix="vaultsync-bench-")))
    try:
        kube, bao = stack.kube, stack.openbao
        kube.kubectl("apply", "--server-side", "-f", str(demo.REPO / "crds"))
        for plural in demo.KINDS.split(","):
            kube.wait_established(f"{plural}.vaultsync.io")
        kube.kubectl("create", "namespace", demo.OPERATOR_NAMESPACE)
        kube.kubectl("create", "namespace", NAMESPACE)
        kube.kubectl(
            "create",
            "secret",
            "generic",
            "bao-token",
            f"--from-literal=token={bao.root_token}",
            "-n",
            NAMESPACE,
        )
        vault = hvac.Client(url=bao.address, token=bao.root_token, timeout=10)
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda i: vault.secrets.kv.v2.create_or_update_secret(
                        path=f"scale/s{i}", secret={"apiKey": uuid.uuid4().hex}
                    ),
                    range(secrets),
                )
            )
        metrics_port = free_port()
        operator = start_operator(stack, metrics_port)
        api = kube.api_client()
        custom = client.CustomObjectsApi(api)
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NAMESPACE,
            "vaultprofiles",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "VaultProfile",
                "metadata": {"name": "bao"},
                "spec": {
                    "provider": {
                        "hashicorp": {
                            "address": bao.address,
                            "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
                        }
                    }
                },
            },
        )

        def create(i: int) -> None:
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                NAMESPACE,
                "managedsecrets",
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "ManagedSecret",
                    "metadata": {"name": f"s{i}"},
                    "spec": {
                        "type": "api-key",
                        "source": {"vaultProfile": {"name": "bao"}, "path": f"scale/s{i}"},
                        "kubernetesSecrets": [{"name": f"s{i}"}],
                        "refreshInterval": f"{refresh}s",
                    },
                },
            )

        requests_before = _all_apiserver_requests(kube)
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(create, range(secrets)))
        created = time.monotonic() - started
        while _phases(custom).get("Synced", 0) < secrets:
            if time.monotonic() - started > 60 + secrets * 0.5:
                raise TimeoutError(f"not all Synced: {_phases(custom)}")
            time.sleep(2)
        all_synced = time.monotonic() - started
        requests_to_synced = _all_apiserver_requests(kube) - requests_before
        time.sleep(refresh * 2)  # let the first post-write re-reads settle
        patches_before = _apiserver_requests(kube, "PATCH", "managedsecrets")
        secret_writes_before = sum(_apiserver_requests(kube, v, "secrets") for v in ("PUT", "POST", "PATCH"))
        calls_before = _operator_calls(metrics_port)
        time.sleep(refresh * cycles)
        calls_after = _operator_calls(metrics_port)
        steady = {
            "seconds": refresh * cycles,
            "managedsecret_patches": _apiserver_requests(kube, "PATCH", "managedsecrets") - patches_before,
            "secret_writes": sum(_apiserver_requests(kube, v, "secrets") for v in ("PUT", "POST", "PATCH"))
            - secret_writes_before,
            "vault_calls": {
                op: calls_after.get(op, 0) - calls_before.get(op, 0)
                for op in calls_after
                if calls_after.get(op, 0) - calls_before.get(op, 0)
            },
        }
        propagation = _one_change(vault, client.CoreV1Api(api), secrets // 2, refresh)
        return {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "secrets": secrets,
            "refresh_seconds": refresh,
            "create_seconds": round(created, 1),
            "all_synced_seconds": round(all_synced, 1),
            "syncs_per_second": round(secrets / all_synced, 1),
            "steady_state": steady,
            "one_change_propagation_seconds": round(propagation, 1),
            "apiserver_requests_to_synced": int(requests_to_synced),
            "operator_peak_rss_mib": _peak_rss_mib(operator.pid),
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument(
        "--refresh", type=int, default=20, help="refreshInterval of every ManagedSecret, seconds"
    )
    parser.add_argument("--cycles", type=int, default=3, help="refresh intervals observed in steady state")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON lines file the run is appended to"
    )
    args = parser.parse_args()
    result = run(args.secrets, args.refresh, args.cycles)
    print(json.dumps(result, indent=2))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a") as out:
        out.write(json.dumps(result, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
