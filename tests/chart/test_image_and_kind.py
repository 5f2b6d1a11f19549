"""The operator image recipe and the kind cluster config keep their promises, read as text: stages,
non-root user, entrypoint, build context. tests/image/ builds and runs the image itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import PurePosixPath

import pytest
import yaml

from chart.chart_tools import REPO_ROOT

NON_ROOT_UID = "65532"


def _instructions() -> list[tuple[str, str]]:
    text = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_image_is_multi_stage_from_a_pinned_slim_python() -> None:
    instructions = _instructions()
    base = next(arg for op, arg in instructions if op == "ARG" and arg.startswith("PYTHON_IMAGE="))
    image = base.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-[a-z]+(@sha256:[a-f0-9]{64})?", image), image
    stages = [arg for op, arg in instructions if op == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS wheels", "${PYTHON_IMAGE} AS runtime"]
    assert "@sha256:<digest>" in (REPO_ROOT / "Dockerfile").read_text()


def test_runtime_stage_installs_only_built_wheels() -> None:
    runtime = _final_stage()
    runs = [arg for op, arg in runtime if op == "RUN"]
    assert any("pip install --no-index" in run and "--find-links=/wheels vaultsync" in run for run in runs)
    assert not [arg for op, arg in runtime if op in ("COPY", "ADD")], "sources must stay in the wheels stage"
    wheels_stage = _instructions()[: len(_instructions()) - len(runtime)]
    assert any(
        op == "RUN" and "pip wheel" in arg and "--wheel-dir /wheels" in arg for op, arg in wheels_stage
    )


def test_build_needs_no_frontend_image_and_keeps_pip_settings_out_of_layers() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "# syntax=" not in text, "a syntax line makes BuildKit pull a frontend image"
    instructions = _instructions()
    assert not [
        arg for op, arg in instructions if op in ("ARG", "ENV") and re.search(r"PIP_(CERT|INDEX)", arg)
    ]
    assert any("--mount=type=secret,id=ca-bundle" in arg for op, arg in instructions if op == "RUN")


def test_image_runs_vaultsync_run_as_non_root() -> None:
    runtime = dict(_final_stage())
    assert runtime["USER"] == f"{NON_ROOT_UID}:{NON_ROOT_UID}"
    assert runtime["ENTRYPOINT"] == '["vaultsync"]'
    assert runtime["CMD"] == '["run"]'
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "vaultsync" in scripts
    chart_values = yaml.safe_load((REPO_ROOT / "charts/vaultsync/values.yaml").read_text())
    assert str(chart_values["runAsUser"]) == NON_ROOT_UID


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a matching directory covers its contents."""
    ignored = False
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        regex = re.escape(body).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        pytest.param("pyproject.toml", False, id="pyproject"),
        pytest.param("README.md", False, id="readme-for-package-metadata"),
        pytest.param("operator/vaultsync/cli.py", False, id="package-source"),
        pytest.param("operator/vaultsync/py.typed", False, id="package-data"),
        pytest.param(".venv/bin/python", True, id="venv"),
        pytest.param(".git/config", True, id="git"),
        pytest.param("tests/chart/test_template.py", True, id="tests"),
        pytest.param("charts/vaultsync/values.yaml", True, id="chart"),
        pytest.param("operator/vaultsync/__pycache__/cli.cpython-311.pyc", True, id="bytecode"),
        pytest.param("operator/vaultsync.egg-info/PKG-INFO", True, id="egg-info"),
        pytest.param(".env", True, id="dotenv"),
    ],
)
def test_build_context_holds_only_what_the_wheel_needs(path: str, ignored: bool) -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert _docker_ignored(path, patterns) is ignored


def test_kind_config_has_one_control_plane_and_one_worker() -> None:
    config = yaml.safe_load((REPO_ROOT / "kind-config.yaml").read_text())
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["kind"] == "Cluster"
    assert sorted(node["role"] for node in config["nodes"]) == ["control-plane", "worker"]
