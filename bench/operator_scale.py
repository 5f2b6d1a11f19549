"""Benchmark of the whole operator at scale: N ManagedSecrets from OpenBao into Kubernetes Secrets
(workload ``bao-k8s``), or into AWS Secrets Manager (moto) and Kubernetes Secrets (``bao-aws-k8s``).

Starts the local stack (kube-apiserver, etcd, OpenBao, moto), measures the apiserver's raw Secret
write rate (N small Secrets, 16 concurrent clients), creates N sources and N ManagedSecrets (with
the finalizer the admission webhook would have set: a restart of the operator with existing
objects), then starts the operator as a real process and reports:

- time until every target is correct and until every status says Synced, and the ratio to the
  physical limit (apiserver writes needed per object / raw write rate);
- CPU ms per sync and peak RSS (VmHWM) of the operator; apiserver requests by verb and vault
  calls by operation during the initial sync and per steady interval;
- propagation p50 / p99 of ``--changes`` changed sources;
- apiserver requests per ManagedSecret of ``--new`` objects created while the operator runs.

The benchmark watches what it measures (``bench/watched.py``: one LIST, then a watch of the
Secrets and of the ManagedSecrets) instead of listing every object each poll, and asks moto for its
listing only once every Kubernetes Secret is correct; the time an AWS copy was written comes from
the secret itself.

``--operator-src DIR`` runs the operator from another checkout (its ``operator/`` directory), so
that one run of this script compares two versions of the code.

Run:  .venv/bin/python -m bench.operator_scale [--secrets 1000] [--workload bao-aws-k8s]
      [--refresh 30] [--cycles 2] [--changes 100] [--operator-src ../other-checkout]
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

import boto3
import botocore.exceptions
import hvac
from kubernetes import client

from bench import scale_probes
from bench.watched import Watched, phase_of
from vaultsync.handlers.webhook import FINALIZER
from vaultsync_devstack import Stack, demo
from vaultsync_devstack.authors import create_authored
from vaultsync_devstack.process import ManagedProcess, current_run, free_port, port_open
from vaultsync_devstack.webhook import serve_webhooks

NAMESPACE = "bench-scale"
RESULTS = Path(__file__).resolve().parent / "results" / "operator_scale.jsonl"
"""Every run appended, one JSON object per line (``bench.plot_scale`` draws docs/operator-scale.svg)."""
GROUP, VERSION = "vaultsync.io", "v1alpha1"


RESOURCES = ("managedsecrets", "secrets", "events", "vaultprofiles", "leases")


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


def _api_key(item: dict[str, Any]) -> str | None:
    """A benchmark target's ``apiKey`` value (plain JSON: the client's models of 100,000 Secrets
    took minutes of CPU)."""
    data = item.get("data") or {}
    return base64.b64decode(data["apiKey"]).decode() if "apiKey" in data else None


def _watches(core: Any, custom: Any) -> tuple[Watched, Watched]:
    """Secret name -> ``apiKey`` and ManagedSecret name -> phase, kept by watches."""
    targets = Watched(core.list_namespaced_secret, (NAMESPACE,), _api_key)
    phases = Watched(
        custom.list_namespaced_custom_object, (GROUP, VERSION, NAMESPACE, "managedsecrets"), phase_of
    )
    return targets.start(), phases.start()


def _aws_written(sm: Any) -> dict[str, float]:
    """Name -> when it was last written (epoch seconds) of every secret in moto. moto's store is
    not safe for concurrent use: at 10,000 secrets a listing during the operator's writes can fail
    with HTTP 500 ("dictionary changed size during iteration"); the caller looks again."""
    written: dict[str, float] = {}
    for page in sm.get_paginator("list_secrets").paginate(MaxResults=100):
        for entry in page["SecretList"]:
            written[entry["Name"]] = (entry.get("LastChangedDate") or entry["CreatedDate"]).timestamp()
    return written


def _aws_correct_at(sm: Any, names: set[str]) -> float | None:
    """When (``time.monotonic()``) the last of ``names`` was written, if all are in moto.

    The listing of 10,000 takes moto half a minute, so the time comes from the secrets, not from
    the end of the listing. moto keeps whole seconds: a second is added, never too early.
    """
    written = _aws_written(sm)
    if not names <= written.keys():
        return None
    last = max(written[name] for name in names) + 1
    return time.monotonic() - (time.time() - last)


def start_operator(
    stack: Stack, metrics_port: int, source: str | None = None, **settings: str
) -> ManagedProcess:
    """The operator as a process of the stack (stopped with it), serving its admission webhooks
    (they record who writes each spec from now on); ``settings`` are extra environment variables,
    ``source`` another checkout to run the operator from."""
    kube = stack.kube
    serving = serve_webhooks(kube, stack.state)
    log = stack.state / "operator" / "logs" / "operator.log"
    env = {
        **serving.env,
        "KUBECONFIG": str(kube.kubeconfig),
        "VAULTSYNC_NAMESPACE": demo.OPERATOR_NAMESPACE,
        "VAULTSYNC_METRICS_PORT": str(metrics_port),
        "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
        **settings,
    }
    if source:
        env["PYTHONPATH"] = str(Path(source).resolve() / "operator")
    operator = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in current_run(log) and port_open(serving.port),
        env=env,
        start_timeout=120,
    )
    stack.attached.append(operator)
    operator.start()
    return operator


def _profiles(custom: Any, core: Any, bao_address: str, moto: Any | None) -> None:
    """The two VaultProfiles, with the admin's author record (no webhook runs yet)."""
    profiles = {
        "bao": {
            "hashicorp": {
                "address": bao_address,
                "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
            }
        }
    }
    if moto is not None:
        profiles["aws"] = {
            "aws": {
                "region": moto.region,
                "endpoint": moto.endpoint,
                "auth": {"accessKey": {"secretRef": {"name": "aws-keys"}}},
            }
        }
    for name, provider in profiles.items():
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "VaultProfile",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"provider": provider},
        }
        create_authored(core, custom, "vaultprofiles", body)


def _managed_secret(i: int, refresh: int, aws: bool, *, finalizer: bool = False) -> dict[str, Any]:
    """``finalizer``: as the admission webhook leaves it, for objects created before the operator
    starts (a restart of the operator with existing objects, not their first sync ever)."""
    spec: dict[str, Any] = {
        "type": "api-key",
        "source": {"vaultProfile": {"name": "bao"}, "path": f"scale/s{i}"},
        "kubernetesSecrets": [{"name": f"s{i}"}],
        "refreshInterval": f"{refresh}s",
    }
    if aws:
        spec["syncTargets"] = [{"vaultProfile": {"name": "aws"}, "path": f"scale/s{i}"}]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ManagedSecret",
        "metadata": {"name": f"s{i}", **({"finalizers": [FINALIZER]} if finalizer else {})},
        "spec": spec,
    }


def _new_objects(
    kube: Any,
    custom: Any,
    watches: tuple[Watched, Watched],
    vault: Any,
    *,
    first: int,
    count: int,
    refresh: int,
    aws: bool,
) -> dict[str, Any]:
    """``count`` ManagedSecrets created while the operator runs (through its admission webhooks,
    which set the finalizer): apiserver requests from their creation until all are Synced with
    the right content, per object. The creates themselves are not counted."""
    if count <= 0:
        return {}
    values = {f"s{i}": uuid.uuid4().hex for i in range(first, first + count)}
    for name, value in values.items():
        vault.secrets.kv.v2.create_or_update_secret(path=f"scale/{name}", secret={"apiKey": value})
    before = scale_probes.requests_by_verb(kube, RESOURCES)
    started = time.monotonic()
    for i in range(first, first + count):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "managedsecrets", _managed_secret(i, refresh, aws)
        )
    targets, phases = watches
    while True:
        if time.monotonic() - started > 60 + count:
            raise TimeoutError("the ManagedSecrets created while running did not all sync")
        correct_at = targets.settled(values)
        synced_at = phases.settled(dict.fromkeys(values, "Synced"))
        if correct_at is not None and synced_at is not None:
            break
        time.sleep(0.5)
    requests = scale_probes.delta(scale_probes.requests_by_verb(kube, RESOURCES), before)
    requests.pop("POST managedsecrets", None)
    counted = {
        k: v for k, v in requests.items() if not k.startswith(("LIST", "WATCH", "GET lease", "PUT lease"))
    }
    return {
        "count": count,
        "seconds_to_synced": round(max(correct_at, synced_at) - started, 1),
        "apiserver_requests": requests,
        "apiserver_requests_per_object": round(sum(counted.values()) / count, 2),
    }


def run(  # noqa: PLR0915 - one measured scenario, step by step
    secrets: int,
    workload: str,
    refresh: int,
    cycles: int,
    changes: int,
    *,
    source: str | None,
    new: int = 0,
) -> dict[str, Any]:
    aws = workload == "bao-aws-k8s"
    stack = Stack(
        state=Path(tempfile.mkdtemp(prefix="vaultsync-bench-")),
        etcd_quota_bytes=max(2 * 1024**3, secrets * 80 * 1024),  # 8 GB at 100,000
    )
    watches: tuple[Watched, ...] = ()
    try:
        kube, bao = stack.kube, stack.openbao
        moto = stack.moto if aws else None
        kube.kubectl("apply", "--server-side", "-f", str(demo.REPO / "crds"))
        for plural in demo.KINDS.split(","):
            kube.wait_established(f"{plural}.vaultsync.io")
        for namespace in (demo.OPERATOR_NAMESPACE, NAMESPACE, "bench-raw"):
            kube.kubectl("create", "namespace", namespace)
        api = kube.api_client()
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        raw_rate = scale_probes.raw_secret_writes_per_second(api, "bench-raw", min(secrets, 10_000))
        kube.kubectl(
            "create",
            "secret",
            "generic",
            "bao-token",
            f"--from-literal=token={bao.root_token}",
            "-n",
            NAMESPACE,
        )
        sm = None
        if moto is not None:
            kube.kubectl(
                "create",
                "secret",
                "generic",
                "aws-keys",
                f"--from-literal=accessKeyId={moto.access_key_id}",
                f"--from-literal=secretAccessKey={moto.secret_access_key}",
                "-n",
                NAMESPACE,
            )
            session = boto3.Session(moto.access_key_id, moto.secret_access_key, region_name=moto.region)
            sm = session.client("secretsmanager", endpoint_url=moto.endpoint)
        vault = hvac.Client(url=bao.address, token=bao.root_token, timeout=10)
        expected = {f"s{i}": uuid.uuid4().hex for i in range(secrets)}
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda i: vault.secrets.kv.v2.create_or_update_secret(
                        path=f"scale/s{i}", secret={"apiKey": expected[f"s{i}"]}
                    ),
                    range(secrets),
                )
            )
            _profiles(custom, core, bao.address, moto)
            list(
                pool.map(
                    lambda i: custom.create_namespaced_custom_object(
                        GROUP,
                        VERSION,
                        NAMESPACE,
                        "managedsecrets",
                        _managed_secret(i, refresh, aws, finalizer=True),
                    ),
                    range(secrets),
                )
            )

        watches = targets, phases = _watches(core, custom)
        requests_before = scale_probes.requests_by_verb(kube, RESOURCES)
        metrics_port = free_port()
        started = time.monotonic()
        operator = start_operator(stack, metrics_port, source)
        pid = operator.pid or 0
        cpu_before = scale_probes.cpu_seconds(pid)
        targets_at = synced_at = None
        all_synced = dict.fromkeys(expected, "Synced")
        in_aws = {f"scale/{n}" for n in expected}
        poll_every, printed = max(0.5, secrets / 20000), 0.0
        while targets_at is None or synced_at is None:
            now = time.monotonic()
            if now - started > 120 + secrets:
                raise TimeoutError("not all targets correct or not all Synced")
            kube_correct = targets.settled(expected)
            if targets_at is None and kube_correct is not None:
                # A sync writes the AWS copy before the Kubernetes Secret, so moto's listing (100
                # calls at 10,000, each a scan of every secret) is asked for only now.
                try:
                    aws_at = kube_correct if sm is None else _aws_correct_at(sm, in_aws)
                    if aws_at is not None:
                        targets_at = max(kube_correct, aws_at) - started
                except botocore.exceptions.ClientError as e:  # moto at 10,000 secrets: see _aws_written
                    print(f"poll: moto {e.response.get('Error', {}).get('Code')}", file=sys.stderr)
            settled = phases.settled(all_synced) if synced_at is None else None
            if settled is not None:
                synced_at = settled - started
            if now - printed >= 5 or (targets_at is not None and synced_at is not None):
                printed = now
                synced = sum(1 for phase in phases.values().values() if phase == "Synced")
                memory = scale_probes.memory_mib(pid)
                print(
                    f"{now - started:.0f} s: {synced} Synced, operator {memory}", file=sys.stderr, flush=True
                )
            time.sleep(poll_every)
        initial_cpu = scale_probes.cpu_seconds(pid) - cpu_before
        calls_initial = {k: int(v) for k, v in sorted(_operator_calls(metrics_port).items())}
        requests_initial = scale_probes.delta(scale_probes.requests_by_verb(kube, RESOURCES), requests_before)
        memory_initial = scale_probes.memory_mib(pid)

        steady: dict[str, Any] | None = None
        propagation: dict[str, Any] | None = None
        if cycles:
            time.sleep(refresh * 1.5)  # the first post-write listings settle
            requests_before = scale_probes.requests_by_verb(kube, RESOURCES)
            calls_before = _operator_calls(metrics_port)
            cpu_before = scale_probes.cpu_seconds(pid)
            time.sleep(refresh * cycles)
            steady = {
                "intervals": cycles,
                "apiserver_requests": scale_probes.delta(
                    scale_probes.requests_by_verb(kube, RESOURCES), requests_before
                ),
                "vault_calls": scale_probes.delta(_operator_calls(metrics_port), calls_before),
                "cpu_seconds_per_interval": round((scale_probes.cpu_seconds(pid) - cpu_before) / cycles, 2),
            }

        if changes:
            changed = {f"s{i}": uuid.uuid4().hex for i in range(0, secrets, max(1, secrets // changes))}
            changed_at = {}
            for name, value in changed.items():
                vault.secrets.kv.v2.create_or_update_secret(path=f"scale/{name}", secret={"apiKey": value})
                changed_at[name] = time.monotonic()
            while targets.settled(changed) is None:
                if time.monotonic() - max(changed_at.values()) > refresh * 3 + 60:
                    late = sum(
                        1 for name, value in targets.values().items() if changed.get(name, value) != value
                    )
                    raise TimeoutError(f"{late} changes not propagated")
                time.sleep(0.5)
            seen = {name: (targets.changed_at(name) or 0.0) - changed_at[name] for name in changed}
            propagation = {
                "changes": len(changed),
                "p50": round(scale_probes.percentile(list(seen.values()), 0.5), 1),
                "p99": round(scale_probes.percentile(list(seen.values()), 0.99), 1),
                "max": round(max(seen.values()), 1),
            }
        created = (
            _new_objects(kube, custom, watches, vault, first=secrets, count=new, refresh=refresh, aws=aws)
            if new
            else None
        )
        writes_per_object = (
            3 if aws else 2
        )  # Secret POST + status PATCH (+ the AWS write, not the apiserver's)
        apiserver_writes = 2
        return {
            "workload": workload,
            "secrets": secrets,
            "operator_source": source or "this checkout",
            "raw_secret_writes_per_second": round(raw_rate, 1),
            "all_targets_correct_seconds": round(targets_at, 1),
            "all_synced_seconds": round(synced_at, 1),
            "syncs_per_second": round(secrets / synced_at, 1),
            "ratio_to_physical_limit": round((secrets * apiserver_writes / raw_rate) / targets_at, 3),
            "writes_per_object": writes_per_object,
            "cpu_ms_per_sync": round(1000 * initial_cpu / secrets, 1),
            "memory_mib_after_initial_sync": memory_initial,
            "memory_mib_at_end": scale_probes.memory_mib(pid),
            "operator_peak_rss_mib": scale_probes.memory_mib(pid).get("VmHWM"),
            "apiserver_requests_to_synced": sum(requests_initial.values()),
            "apiserver_requests_initial_sync": requests_initial,
            "vault_calls_initial_sync": calls_initial,
            "apiserver_requests_per_new_managedsecret": round(
                sum(
                    v for k, v in requests_initial.items() if not k.startswith(("LIST", "WATCH", "GET lease"))
                )
                / secrets,
                2,
            ),
            "steady_state": steady,
            "created_while_running": created,
            "refresh_seconds": refresh,
            "propagation_seconds": propagation,
        }
    finally:
        for watched in watches:
            watched.stop()
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--workload", choices=["bao-k8s", "bao-aws-k8s"], default="bao-aws-k8s")
    parser.add_argument(
        "--refresh", type=int, default=30, help="refreshInterval of every ManagedSecret, seconds"
    )
    parser.add_argument("--cycles", type=int, default=2, help="refresh intervals observed in steady state")
    parser.add_argument("--changes", type=int, default=100, help="sources changed to measure propagation")
    parser.add_argument("--operator-src", default=None, help="run the operator from this checkout")
    parser.add_argument("--new", type=int, default=50, help="ManagedSecrets created while the operator runs")
    args = parser.parse_args()
    result = run(
        args.secrets,
        args.workload,
        args.refresh,
        args.cycles,
        args.changes,
        source=args.operator_src,
        new=args.new,
    )
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results:
        results.write(json.dumps(result, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
