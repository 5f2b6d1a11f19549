"""The CLI explains refusals in one line instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from e2e.support import Cluster
from vaultsync_devstack.kube import KubeControlPlane

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["approvals"], id="list-without-rbac"),
        pytest.param(["approve", "nothing-here"], id="approve-without-rbac"),
        pytest.param(["where-used", "nothing-here"], id="where-used-without-rbac"),
    ],
)
def test_refusals_are_one_clear_line(kube: KubeControlPlane, cluster: Cluster, args: list[str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaultsync",
            *args,
            "-n",
            cluster.namespace,
            "--kubeconfig",
            str(kube.kubeconfig_for("dave")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert any(word in done.stderr.lower() for word in ("forbidden", "not allowed", "403"))
