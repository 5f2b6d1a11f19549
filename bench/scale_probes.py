"""What the scale benchmark measures from outside the operator: its process (CPU, peak memory),
the apiserver's own request counters by verb, and the raw write rate of the apiserver."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client

from vaultsync_devstack.kube import KubeControlPlane

_REQUEST = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> dict[str, float]:
    """VmHWM (peak resident) and VmRSS of one process, MiB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


def requests_by_verb(kube: KubeControlPlane, resources: Iterable[str]) -> dict[str, float]:
    """``verb resource`` -> requests the apiserver has served, from its own metrics."""
    wanted = set(resources)
    text = kube.kubectl("get", "--raw", "/metrics").stdout
    counts: dict[str, float] = {}
    for line in text.splitlines():
        match = _REQUEST.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match[1]))
        if labels.get("resource") in wanted:
            key = f"{labels.get('verb')} {labels['resource']}"
            counts[key] = counts.get(key, 0.0) + float(match[2])
    return counts


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {k: int(v - before.get(k, 0.0)) for k, v in sorted(after.items()) if v - before.get(k, 0.0)}


def raw_secret_writes_per_second(api: Any, namespace: str, count: int, clients: int = 16) -> float:
    """Creates ``count`` small Secrets with ``clients`` concurrent clients: the apiserver's limit."""
    core = client.CoreV1Api(api)

    def create(i: int) -> None:
        core.create_namespaced_secret(
            namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=f"raw-{i}"), string_data={"k": "v"})
        )

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(create, range(count)))
    return count / (time.monotonic() - started)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
