"""The operator image, built from the real Dockerfile, runs as users run it: host network, read-only
root, the non-root user; it brings a ManagedSecret to Synced on the test apiserver and OpenBao."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest

from e2e.support import Cluster, openbao_provider, wait_for
from image.engine import DockerEngine
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import free_port
from vaultsync_devstack.vaults import OpenBao

# The first test also installs docker.io, debootstraps the base (cold: minutes) and builds the image.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(1800)]

OPERATOR_NAMESPACE = "vaultsync-system"
DEVELOPMENT_COMMANDS = ("devstack", "crds")
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "x86_64-linux-gnu-gcc", "make", "ld")


def _portable_kubeconfig(kube: KubeControlPlane, directory: Path) -> Path:
    """The admin kubeconfig with its certificates inlined, readable by the image's user."""
    flattened = kube.kubectl("config", "view", "--raw", "--flatten")
    assert flattened.returncode == 0, flattened.stderr
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    directory.chmod(0o755)
    path = directory / "config"
    path.write_text(flattened.stdout)
    path.chmod(0o644)
    return path


@pytest.fixture
def namespace(kube: KubeControlPlane, session_operator_paused: None) -> str:
    applied = kube.kubectl("apply", "--server-side", "-f", str(Path(__file__).parents[2] / "crds"))
    assert applied.returncode == 0, applied.stderr
    for crd in ("vaultprofiles", "managedsecrets", "approvalrequests"):
        kube.wait_established(f"{crd}.vaultsync.io")
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    name = f"image-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", name).returncode == 0
    return name


@pytest.fixture
def container(
    docker: DockerEngine, image: str, kube: KubeControlPlane, namespace: str, tmp_path: Path
) -> Iterator[str]:
    """``vaultsync run`` in the image, watching only the test namespace."""
    kubeconfig = _portable_kubeconfig(kube, tmp_path / "kube")
    name = f"vaultsync-{namespace}"
    started = docker.cli(
        "run", "--detach", "--name", name,
        "--network", "host", "--read-only", "--tmpfs", "/tmp", "--user", "65532:65532",
        "--volume", f"{kubeconfig.parent}:/kube:ro",
        "--env", "KUBECONFIG=/kube/config",
        "--env", f"VAULTSYNC_NAMESPACE={OPERATOR_NAMESPACE}",
        "--env", f"VAULTSYNC_METRICS_PORT={free_port()}",
        "--env", "VAULTSYNC_MIN_REFRESH_SECONDS=1",
        image, "run", "--standalone", "--namespace", namespace,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield name
    finally:
        docker.cli("rm", "--force", name)


def test_image_syncs_a_managed_secret_read_only_as_non_root(
    docker: DockerEngine, container: str, kube: KubeControlPlane, namespace: str, openbao: OpenBao
) -> None:
    cluster = Cluster(kube, namespace)
    password = "image-" + uuid.uuid4().hex
    hvac.Client(
        url=openbao.address, token=openbao.root_token, timeout=5
    ).secrets.kv.v2.create_or_update_secret(
        path=f"image/{namespace}/db", secret={"username": "app", "password": password}
    )
    cluster.secret("bao-token", {"token": openbao.root_token})
    # No admission webhook runs here: the profile carries the author record it would have written.
    cluster.create_authored("vaultprofiles", "bao", {"provider": openbao_provider(openbao)})
    cluster.create(
        "managedsecrets",
        "db",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": f"image/{namespace}/db"},
            "kubernetesSecrets": [{"name": "db"}],
        },
    )

    def synced() -> bool:
        return (cluster.get("managedsecrets", "db").get("status") or {}).get("phase") == "Synced"

    try:
        wait_for(synced, 120, "the ManagedSecret Synced by the operator in the image")
    except AssertionError as e:
        logs = docker.cli("logs", "--tail", "60", container)
        raise AssertionError(f"{e}\ncontainer log:\n{logs.stdout[-4000:]}{logs.stderr[-4000:]}") from e
    assert cluster.secret_data("db") == {"username": "app", "password": password}
    inspected = docker.cli(
        "inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", container
    )
    assert inspected.stdout.split() == ["65532:65532", "true"]


def test_image_runs_as_non_root_by_default(docker: DockerEngine, image: str) -> None:
    ran = docker.cli("run", "--rm", "--network", "host", "--entrypoint", "id", image, "-u")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "65532"


def test_no_compiler_is_left_in_the_final_stage(docker: DockerEngine, image: str) -> None:
    probe = "; ".join(f"command -v {tool} || true" for tool in COMPILERS)
    ran = docker.cli("run", "--rm", "--network", "host", "--entrypoint", "/bin/sh", image, "-c", probe)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "", f"build tools in the image: {ran.stdout.split()}"
    # The probe itself works: the shell finds what is there.
    found = docker.cli(
        "run", "--rm", "--network", "host", "--entrypoint", "/bin/sh", image, "-c", "command -v vaultsync"
    )
    assert found.stdout.strip() == "/opt/vaultsync/bin/vaultsync"


def test_help_in_the_image_shows_no_development_command(docker: DockerEngine, image: str) -> None:
    ran = docker.cli(
        "run", "--rm", "--network", "host", "--read-only", "--user", "65532:65532", image, "--help"
    )
    assert ran.returncode == 0, ran.stderr
    assert "approvals" in ran.stdout
    assert "run" in ran.stdout
    assert not [word for word in DEVELOPMENT_COMMANDS if word in ran.stdout], ran.stdout
