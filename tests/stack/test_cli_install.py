"""The CLI for approvers installs without the test extras and works as a kubectl plugin.

A plain ``pip install`` of the project (here: uv, non-editable, into a fresh virtualenv) gives
``vaultsync`` and ``kubectl-vaultsync``; kubectl finds the plugin on PATH, and
``kubectl vaultsync approvals`` lists ApprovalRequests of the test apiserver.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.base_prefix) / "bin" / "uv")
    assert Path(found).exists(), "uv not found (scripts/bootstrap installs it)"
    return found


@pytest.fixture(scope="module")
def product_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("product") / "venv"
    for command in (
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)],
        [_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(REPO)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def _run(command: list[str], path: str, kube: KubeControlPlane) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "KUBECONFIG": str(kube.kubeconfig)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_product_install_has_both_commands_and_no_test_extras(product_bin: Path) -> None:
    assert (product_bin / "vaultsync").exists()
    assert (product_bin / "kubectl-vaultsync").exists()
    probe = subprocess.run(
        [str(product_bin / "python"), "-c", "import pytest"], capture_output=True, text=True, check=False
    )
    assert probe.returncode != 0, "the product install must not pull the test extras"


def test_kubectl_finds_the_plugin_and_lists_approval_requests(
    product_bin: Path, kube: KubeControlPlane
) -> None:
    path = f"{product_bin}{os.pathsep}{kube.kubectl_path.parent}{os.pathsep}/usr/bin:/bin"
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    assert applied.returncode == 0, applied.stderr
    kube.wait_established("approvalrequests.vaultsync.io")
    namespace = f"plugin-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    request = f"db-update-{uuid.uuid4().hex[:6]}"
    manifest = {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "ApprovalRequest",
        "metadata": {"name": request, "namespace": namespace},
        "spec": {"managedSecret": "db", "operation": "Update", "fingerprint": "hmac-sha256:" + "ab" * 32},
    }
    created = subprocess.run(
        [str(kube.kubectl_path), "--kubeconfig", str(kube.kubeconfig), "create", "-f", "-"],
        input=json.dumps(manifest),
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr

    listed = _run(["kubectl", "plugin", "list"], path, kube)
    assert str(product_bin / "kubectl-vaultsync") in listed.stdout, listed.stdout + listed.stderr
    shown = _run(["kubectl", "vaultsync", "approvals", "-n", namespace, "--all"], path, kube)
    assert shown.returncode == 0, shown.stderr
    assert request in shown.stdout
    helped = _run(["kubectl", "vaultsync", "--help"], path, kube)
    assert helped.stdout.startswith("usage: kubectl vaultsync"), helped.stdout
