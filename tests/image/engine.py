"""A private Docker engine for the image tests: installed from Debian's packages when missing,
started as root on its own socket and data root, with no bridge and no iptables rules.

Containers of these tests use the host network only (``--network host``): the engine never
creates a bridge network, whose addresses would be private-range. The data root lives in the
cache directory, so base image and layer cache survive between runs (a warm build reuses them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from vaultsync_devstack.process import ManagedProcess

PACKAGES = ("docker.io", "debootstrap")


def install_engine() -> None:
    """Installs Debian's docker.io (dockerd, classic CLI with BuildKit) and debootstrap if missing."""
    if shutil.which("dockerd") and shutil.which("debootstrap") and Path("/usr/bin/docker").exists():
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"the image tests need root to install {' '.join(PACKAGES)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@dataclass
class DockerEngine:
    """dockerd on a private socket; ``cli`` runs the docker client against it."""

    data_root: Path
    log_path: Path
    run_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vsd-", dir="/tmp")))
    """Short path: the socket and containerd's sockets must fit in a unix socket address."""
    process: ManagedProcess | None = None

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def env(self) -> dict[str, str]:
        # Debian's classic client: it drives BuildKit with DOCKER_BUILDKIT=1 and needs no buildx.
        return {"DOCKER_HOST": f"unix://{self.socket}", "DOCKER": "/usr/bin/docker"}

    def start(self) -> None:
        self.data_root.mkdir(parents=True, exist_ok=True)
        command = [
            "dockerd",
            f"--host=unix://{self.socket}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.run_dir / 'exec'}",
            f"--pidfile={self.run_dir / 'dockerd.pid'}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
        ]
        self.process = ManagedProcess(
            name="dockerd", command=command, log_path=self.log_path, ready=self._answers, start_timeout=120
        )
        self.process.start()

    def _answers(self) -> bool:
        return self.cli("version", timeout=10).returncode == 0

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/docker", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        """dockerd alone first, so that it stops its containerd and unmounts what it mounted."""
        if self.process is not None and self.process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while self.process.running and time.monotonic() < deadline:
                time.sleep(0.2)
            self.process.stop(timeout=30)
        for mount_point in self._mounts():
            subprocess.run(["umount", "--lazy", mount_point], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.run_dir)

    def _mounts(self) -> list[str]:
        """Mount points under the run directory, deepest first (e.g. the host network namespace)."""
        lines = Path("/proc/mounts").read_text().splitlines()
        found = [line.split()[1] for line in lines if line.split()[1].startswith(str(self.run_dir))]
        return sorted(found, key=len, reverse=True)
