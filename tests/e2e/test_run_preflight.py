"""``vaultsync run`` out of a cluster says what is missing in one line instead of crashing:
the operator's namespace, RBAC of the kubeconfig's user."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack


def _run(kube: KubeControlPlane, user: str, namespace: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.kubeconfig_for(user)),
        "VAULTSYNC_NAMESPACE": namespace,
        "VAULTSYNC_METRICS_PORT": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "vaultsync", "run", "--standalone"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_missing_namespace_is_one_clear_line(kube: KubeControlPlane, crds: None) -> None:
    absent = f"absent-{uuid.uuid4().hex[:8]}"
    done = _run(kube, "admin", absent)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip() == (
        f"vaultsync run: namespace {absent} does not exist: create it "
        f"(`kubectl create namespace {absent}`) or set VAULTSYNC_NAMESPACE"
    )
    assert kube.kubectl("get", "namespace", absent).returncode != 0, "the check creates nothing"


def test_missing_rbac_names_every_missing_right(kube: KubeControlPlane, crds: None) -> None:
    namespace = f"op-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    done = _run(kube, "dave", namespace)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("vaultsync run: the current kubeconfig user may not: ")
    assert "list managedsecrets.vaultsync.io (cluster-wide)" in lines[0]
    assert f"create secrets (namespace {namespace})" in lines[0]
