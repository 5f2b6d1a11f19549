"""The examples/ tree is GitOps-ready: every overlay applies to a real apiserver, and no
manifest anywhere in the repository holds a secret value."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from vaultsync_devstack import demo
from vaultsync_devstack.kube import KubeControlPlane

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = ["local", "production", "approvals"]
SKIP_DIRS = {".venv", ".git", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}
PEM = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")
AWS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
SECRETISH_KEY = re.compile(r"(password|passwd|secret|token|apikey|api_key|clientsecret|privatekey)$", re.I)


def _manifests() -> list[Path]:
    found = []
    for path in REPO.rglob("*"):
        if path.suffix in {".yaml", ".yml"} and not SKIP_DIRS & set(path.relative_to(REPO).parts):
            found.append(path)
    return sorted(found)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _strings(node: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [pair for k, v in node.items() for pair in _strings(v, str(k))]
    if isinstance(node, list):
        return [pair for item in node for pair in _strings(item, key)]
    return [(key, node)] if isinstance(node, str) else []


def _problems(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    problems = []
    if PEM.search(text):
        problems.append("PEM key or certificate block")
    if AWS_KEY.search(text):
        problems.append("AWS access key id")
    if "{{" in text:  # Helm templates: values are rendered, check only the literal text above
        return problems
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
            problems.append(f"Secret {doc.get('metadata', {}).get('name')} carries data")
        if doc.get("kind") == "CustomResourceDefinition":
            continue
        for key, value in _strings(doc):
            long_random = len(value) >= 24 and " " not in value and _entropy(value) > 4.2
            if SECRETISH_KEY.search(key) and value and not value.startswith(("$", "<")):
                problems.append(f"{key} has a literal value")
            elif long_random and not value.startswith(("http", "arn:", "hmac-sha256:", "sha256:")):
                problems.append(f"{key} looks like a random secret")
    return problems


def test_repository_has_manifests_to_check() -> None:
    names = {p.relative_to(REPO).as_posix() for p in _manifests()}
    assert "examples/base/managedsecrets.yaml" in names
    assert any(n.startswith("charts/vaultsync/templates/") for n in names)


@pytest.mark.parametrize("path", _manifests(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_manifest_holds_a_secret_value(path: Path) -> None:
    assert _problems(path) == []


def test_scanner_catches_values(tmp_path: Path) -> None:
    leaky = tmp_path / "leak.yaml"
    leaky.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: hunter2hunter2}\n---\n"
        "kind: ConfigMap\ndata: {token: abc, blob: 'q8ZzT1u7Lw0Xr5VbN2mKc9JdYf3HsA6E'}\n"
    )
    found = _problems(leaky)
    assert "Secret x carries data" in found
    assert "token has a literal value" in found
    assert "blob looks like a random secret" in found


@pytest.fixture(scope="module")
def applied_crds(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    assert applied.returncode == 0, applied.stderr
    for plural in demo.KINDS.split(","):
        kube.wait_established(f"{plural}.vaultsync.io")


@pytest.mark.stack
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_applies_to_the_real_apiserver(
    kube: KubeControlPlane, applied_crds: None, overlay: str
) -> None:
    built = kube.kubectl("kustomize", str(REPO / "examples" / overlay))
    assert built.returncode == 0, built.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(built.stdout) if doc}
    assert kinds & {"VaultProfile", "ManagedSecret"}
    applied = kube.kubectl("apply", "-f", str(REPO / "examples" / "base" / "namespace.yaml"))
    assert applied.returncode == 0, applied.stderr
    applied = kube.kubectl("apply", "--dry-run=server", "-k", str(REPO / "examples" / overlay))
    assert applied.returncode == 0, applied.stderr


@pytest.mark.stack
def test_every_secret_type_has_an_example() -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "examples/base/managedsecrets.yaml").read_text()) if d]
    types = {d["spec"]["type"] for d in docs}
    assert len(types) == 11
    assert {p.split("/", 1)[1] for p in demo.demo_documents()} >= {
        d["spec"]["source"]["path"].split("/", 1)[1] for d in docs
    }
