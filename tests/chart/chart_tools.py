"""Running the pinned helm on the chart and reading what it renders.

The chart tests check rendered objects, not template text: `render` gives the parsed documents,
`rules_allow` answers "would these RBAC rules let the operator do X" the way the API server's
RBAC authorizer matches a rule (no wildcards are expected, so none are honoured here).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "vaultsync"
HELM_TIMEOUT = 180


@dataclass(frozen=True)
class Helm:
    """The pinned helm binary with its own config/cache/data homes (never the user's)."""

    binary: Path
    home: Path

    def run(
        self, *args: str, kubeconfig: Path | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ,
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_DATA_HOME=str(self.home / "data"),
        )
        command = [str(self.binary), *args]
        if kubeconfig is not None:
            command += ["--kubeconfig", str(kubeconfig)]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=HELM_TIMEOUT, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {args[0]} failed ({result.returncode}): {result.stderr}")
        return result

    def values_file(self, values: Mapping[str, Any], name: str) -> Path:
        path = self.home / "values" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(dict(values)))
        return path

    def template(
        self,
        values: Mapping[str, Any],
        *,
        release: str = "vs",
        namespace: str = "vaultsync-system",
        include_crds: bool = False,
    ) -> list[dict[str, Any]]:
        args = ["template", release, str(CHART_DIR), "--namespace", namespace]
        args += ["-f", str(self.values_file(values, f"template-{release}-{namespace}"))]
        if include_crds:
            args.append("--include-crds")
        rendered = self.run(*args, check=True)
        return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def of_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [obj for obj in of_kind(objects, kind) if name is None or obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def rules_allow(
    rules: Iterable[Mapping[str, Any]],
    group: str,
    resource: str,
    verb: str,
    resource_name: str | None = None,
) -> bool:
    """Whether one of ``rules`` grants ``verb`` on ``group``/``resource`` (``pods/status`` form)."""
    for rule in rules:
        if group not in rule.get("apiGroups", ()) or resource not in rule.get("resources", ()):
            continue
        if verb not in rule.get("verbs", ()):
            continue
        names = rule.get("resourceNames")
        if names and resource_name not in names:
            continue
        return True
    return False


def container_of(deployment: Mapping[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_of(container: Mapping[str, Any]) -> dict[str, Any]:
    """Env name -> literal value, or the ``valueFrom`` mapping when it has one."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", ())}
