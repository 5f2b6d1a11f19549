"""Fixtures of the image tests: a private Docker engine and the image built by ``scripts/image``.

The engine is installed and started by the tests themselves (a fresh CI machine has none); an
engine or a build that fails is a test error, never a skip. Build time and image size are printed
at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from image.engine import DockerEngine, install_engine
from vaultsync_devstack import Stack

REPO = Path(__file__).resolve().parents[2]
IMAGE = "vaultsync:test"
REPORT: dict[str, str] = {}


@pytest.fixture(scope="session")
def docker(stack: Stack) -> Iterator[DockerEngine]:
    started = time.monotonic()
    install_engine()
    engine = DockerEngine(data_root=stack.cache / "docker", log_path=stack.state / "docker" / "dockerd.log")
    engine.start()
    assert engine.process is not None
    stack.attached.append(engine.process)
    REPORT["engine ready"] = f"{time.monotonic() - started:.0f} s"
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def image(docker: DockerEngine, stack: Stack) -> str:
    """The operator image, built from the repository's Dockerfile by scripts/image."""
    started = time.monotonic()
    log = stack.state / "docker" / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [str(REPO / "scripts" / "image"), IMAGE],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **docker.env, "VAULTSYNC_CACHE_DIR": str(stack.cache)},
            timeout=1800,
            check=False,
        )
    assert done.returncode == 0, f"scripts/image failed; log {log}:\n{log.read_text()[-4000:]}"
    REPORT["image build (scripts/image)"] = f"{time.monotonic() - started:.0f} s"
    docker.cli("image", "prune", "--force")  # the previous build's image, untagged by this one
    size = docker.cli("image", "inspect", "--format", "{{.Size}}", IMAGE)
    assert size.returncode == 0, size.stderr
    REPORT["image size"] = f"{int(size.stdout) / 1e6:.0f} MB ({IMAGE})"
    return IMAGE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("operator image")
        for what, value in REPORT.items():
            terminalreporter.write_line(f"{what}: {value}")
