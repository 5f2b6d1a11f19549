"""Third-party validation: ``kubeconform -strict`` (built from the Go module proxy) on the rendered
chart under every values case and on every example overlay, with schemas made from the test
apiserver's OpenAPI document and the project's CRDs (tests/chart/jsonschemas.py).

Kinds of other projects' CRDs that are not installed here (prometheus-operator's ServiceMonitor and
PrometheusRule, cert-manager's Certificate and Issuer) are skipped by name; the PrometheusRule is
checked by promtool instead (test_observability.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chart import jsonschemas
from chart.chart_tools import CHART_DIR, REPO_ROOT, Helm
from chart.test_template import CASES
from vaultsync_devstack import Stack, gobuild
from vaultsync_devstack.kube import KubeControlPlane

# kubeconform is built from the Go module proxy on first use.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(1200)]

FOREIGN_KINDS = ("ServiceMonitor", "PrometheusRule", "Certificate", "Issuer")
OBSERVABILITY = {
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
    }
}
RENDER_CASES = {**CASES, "observability-pack": OBSERVABILITY}
EXAMPLES = sorted(path.parent for path in (REPO_ROOT / "examples").rglob("kustomization.yaml"))


@pytest.fixture(scope="module")
def kubeconform(stack: Stack) -> Path:
    return gobuild.build_kubeconform(stack.cache)


@pytest.fixture(scope="module")
def schema_location(kube: KubeControlPlane, tmp_path_factory: pytest.TempPathFactory) -> str:
    openapi = kube.kubectl("get", "--raw", "/openapi/v2")
    assert openapi.returncode == 0, openapi.stderr
    builtin_kinds = {
        "namespace", "secret", "configmap", "service", "serviceaccount", "deployment", "poddisruptionbudget",
        "role", "rolebinding", "clusterrole", "clusterrolebinding", "customresourcedefinition",
        "mutatingwebhookconfiguration", "validatingwebhookconfiguration", "job", "pod",
    }  # fmt: skip
    crds = [*(REPO_ROOT / "crds").glob("*.yaml"), *(CHART_DIR / "charts").glob("*/crds/*.yaml")]
    schemas = {
        **jsonschemas.builtin_schemas(json.loads(openapi.stdout), builtin_kinds),
        **jsonschemas.crd_schemas(crds),
    }
    return jsonschemas.write(schemas, tmp_path_factory.mktemp("schemas"))


def _kubeconform(binary: Path, location: str, manifest: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(binary), "-strict", "-summary", "-output", "json", "-schema-location", location,
         "-skip", ",".join(FOREIGN_KINDS), str(manifest)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    report["returncode"] = done.returncode
    return report


def _problems(report: dict[str, Any]) -> list[str]:
    return [
        f"{r.get('kind')}/{r.get('name')}: {r.get('status')}: {r.get('msg')}"
        for r in report.get("resources") or []
        if r.get("status") not in ("statusValid", "statusSkipped")
    ]


@pytest.mark.parametrize("case", list(RENDER_CASES))
def test_rendered_chart_is_valid(
    case: str, helm: Helm, kubeconform: Path, schema_location: str, tmp_path: Path
) -> None:
    args = ["template", "vs", str(CHART_DIR), "--namespace", "vaultsync-system", "--include-crds"]
    args += ["-f", str(helm.values_file(RENDER_CASES[case], f"kubeconform-{case}"))]
    manifest = tmp_path / "chart.yaml"
    manifest.write_text(helm.run(*args, check=True).stdout)
    report = _kubeconform(kubeconform, schema_location, manifest)
    assert _problems(report) == [], report["summary"]
    assert report["returncode"] == 0
    assert report["summary"]["valid"] >= 10, report["summary"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[str(p.relative_to(REPO_ROOT)) for p in EXAMPLES])
def test_example_is_valid(
    example: Path, kube: KubeControlPlane, kubeconform: Path, schema_location: str, tmp_path: Path
) -> None:
    built = kube.kubectl("kustomize", str(example))
    assert built.returncode == 0, built.stderr
    manifest = tmp_path / "example.yaml"
    manifest.write_text(built.stdout)
    report = _kubeconform(kubeconform, schema_location, manifest)
    assert _problems(report) == [], report["summary"]
    assert report["returncode"] == 0
    assert report["summary"]["valid"] >= 1


@pytest.mark.parametrize(
    ("document", "field"),
    [
        pytest.param(
            {
                "apiVersion": "vaultsync.io/v1alpha1",
                "kind": "ManagedSecret",
                "metadata": {"name": "db"},
                "spec": {"type": "basic-auth", "sourc": {"vaultProfile": {"name": "bao"}, "path": "x"}},
            },
            "sourc",
            id="managedsecret-misspelt-field",
        ),
        pytest.param(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"replicas": 1, "selectr": {}, "template": {"spec": {"containers": []}}},
            },
            "selectr",
            id="deployment-misspelt-field",
        ),
    ],
)
def test_a_misspelt_field_is_refused(
    document: dict[str, Any], field: str, kubeconform: Path, schema_location: str, tmp_path: Path
) -> None:
    """The schemas are strict: what the apiserver would silently prune is an error here."""
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump(document))
    report = _kubeconform(kubeconform, schema_location, manifest)
    assert report["returncode"] != 0
    assert field in " ".join(_problems(report))
