"""Benchmark of the vault backends on the local stack: throughput and the cost of noticing change.

For each backend: writes/s and reads/s of small documents through a pool of worker threads
(the way the operator calls the synchronous SDKs), the client CPU each costs, and the number of
vault calls that one ``list_changes`` costs to find 10 changed secrets among 1,000. Run:

    .venv/bin/python -m bench.backends [--secrets 1000] [--changed 10] [--ops 300] [--threads 8]
                                       [--only openbao,moto,kube,azure,env]

Servers start on loopback and stop at the end. Azure runs on Lowkey Vault where its jar can be
obtained, else on the Key Vault protocol server of the test suite (tests/keyvault_server): its
call counts are Key Vault's, its throughput is that of a Python test server.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from keyvault_server.target import start_azure_vault
from vaultsync.backends.env import EnvBackend
from vaultsync.backends.interface import Backend, Credentials
from vaultsync.backends.kube_http import KubeConnection, KubeHttp
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync_devstack import Stack

OWNER = "bench/backends"


@dataclass
class Result:
    name: str
    writes_per_s: float | None
    reads_per_s: float
    write_cpu_ms: float | None
    """Client CPU (this process, every thread) per write: what the operator pays for one."""
    read_cpu_ms: float | None
    detect_calls: int
    detect_by_operation: dict[str, int]
    detect_seconds: float


def _rate(count: int, run: Callable[[int], Any], threads: int) -> tuple[float, float]:
    """Calls per second, and client CPU milliseconds per call."""
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(count)))
    return count / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / count


@dataclass
class Target:
    name: str
    backend: Backend
    path_of: Callable[[int], str]
    environ: dict[str, str] | None = None
    """For the read-only env backend: the environment it reads, changed directly."""
    server_in_process: bool = False
    """The server runs in this process (Azure's protocol server): client CPU is not measurable."""


def measure(target: Target, args: argparse.Namespace) -> Result:
    name, backend, path_of = target.name, target.backend, target.path_of
    writable = backend.capabilities.writable
    paths = [path_of(i) for i in range(args.secrets)]

    def write(i: int) -> None:
        backend.write(paths[i], "generic", {"value": f"v{i}"}, owner=OWNER, expected_version=None)

    writes: float | None = None
    write_cpu: float | None = None
    if writable:
        writes, write_cpu = _rate(len(paths), write, args.threads)
    reads, read_cpu_ms = _rate(args.ops, lambda i: backend.read(paths[i % len(paths)]), args.threads)
    read_cpu: float | None = read_cpu_ms
    if target.server_in_process:
        write_cpu = read_cpu = None

    marker = backend.list_changes(None, paths).marker
    step = len(paths) // args.changed
    changed = [paths[i * step] for i in range(args.changed)]
    if writable:
        for path in changed:
            backend.write(path, "generic", {"value": "changed"}, owner=OWNER, expected_version=None)
    elif target.environ is not None:
        for path in changed:
            target.environ[f"SECRET_{path}"] = base64.b64encode(b"changed").decode()
    backend.calls.reset()
    started = time.perf_counter()
    found = backend.list_changes(marker, paths).changed
    seconds = time.perf_counter() - started
    if found != set(changed):
        raise SystemExit(f"{name}: list_changes found {len(found)} changes, expected {len(changed)}")
    counts = dict(backend.calls.snapshot())
    return Result(name, writes, reads, write_cpu, read_cpu, sum(counts.values()), counts, seconds)


@contextlib.contextmanager
def targets(stack: Stack, only: set[str], secrets: int) -> Iterator[list[Target]]:
    run = uuid.uuid4().hex[:8]
    found: list[Target] = []
    closers: list[Callable[[], None]] = []
    if "openbao" in only:
        bao = stack.openbao
        backend = create_backend(
            "hashicorp",
            {"address": bao.address, "pathPrefix": f"bench-{run}", "auth": {"token": {}}},
            Credentials({"token": bao.root_token}),
        )
        found.append(Target("hashicorp (OpenBao KV v2)", backend, lambda i: f"s{i:04d}"))
    if "moto" in only:
        moto = stack.moto
        backend = create_backend(
            "aws",
            {"region": moto.region, "endpoint": moto.endpoint, "auth": {"accessKey": {}}},
            Credentials({"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key}),
        )
        found.append(Target("aws (moto)", backend, lambda i: f"bench-{run}/s{i:04d}"))
    if "kube" in only:
        kube = stack.kube
        namespace = f"bench-{run}"
        kube.kubectl("create", "namespace", namespace)
        http = KubeHttp(KubeConnection.from_kubeconfig(str(kube.kubeconfig_for("admin"))), pool_size=16)
        backend = create_backend(
            "kubernetes", {"namespace": namespace}, context=BackendContext(kube_http=http)
        )
        found.append(Target("kubernetes (kube-apiserver)", backend, lambda i: f"s{i:04d}"))
        closers.append(http.close)
    if "azure" in only:
        vault = start_azure_vault(stack)  # Lowkey Vault when obtainable, else the protocol server
        print(f"azure: {vault.name} ({vault.reason})")
        found.append(
            Target(
                f"azure ({vault.name})",
                vault.backend(),
                lambda i: f"bench-{run}/s{i:04d}",
                server_in_process=vault.server is not None,
            )
        )
        if vault.server is not None:
            closers.append(vault.server.stop)
    if "env" in only:
        environ = {f"SECRET_S{i:04d}": base64.b64encode(f"v{i}".encode()).decode() for i in range(secrets)}
        found.append(Target("env", EnvBackend(environ), lambda i: f"S{i:04d}", environ))
    try:
        yield found
    finally:
        for target in found:
            target.backend.close()
        for close in closers:
            close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--ops", type=int, default=300, help="reads per backend")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", default="openbao,moto,kube,azure,env")
    args = parser.parse_args()
    stack = Stack()
    results: list[Result] = []
    try:
        with targets(stack, set(args.only.split(",")), args.secrets) as found:
            for target in found:
                results.append(measure(target, args))
                print(f"measured {target.name}", flush=True)
    finally:
        stack.stop()
    print(f"\n{args.secrets} secrets, {args.changed} changed, {args.threads} threads\n")
    print(
        "| backend | writes/s | reads/s | client CPU per new write / read (ms) "
        "| calls to find the changes | by operation | seconds |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for r in results:
        writes = f"{r.writes_per_s:.0f}" if r.writes_per_s is not None else "read-only"
        cpu = " / ".join("n/a" if ms is None else f"{ms:.2f}" for ms in (r.write_cpu_ms, r.read_cpu_ms))
        ops = ", ".join(f"{op} {n}" for op, n in sorted(r.detect_by_operation.items()))
        row = [
            r.name,
            writes,
            f"{r.reads_per_s:.0f}",
            cpu,
            str(r.detect_calls),
            ops,
            f"{r.detect_seconds:.2f}",
        ]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
