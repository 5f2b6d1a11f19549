"""The chart passes `helm lint --strict`, refuses bad values with helm's own message, and carries
exactly the CRDs generated into crds/."""

from __future__ import annotations

from typing import Any

import pytest

from chart.chart_tools import CHART_DIR, REPO_ROOT, Helm


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            {"ha": {"enabled": True}, "replicas": 2, "watchNamespaces": ["a", "b"]}, id="ha-sharded"
        ),
        pytest.param(
            {"webhook": {"certManager": {"enabled": True}}, "metrics": {"serviceMonitor": {"enabled": True}}},
            id="cert-manager-and-monitoring",
        ),
    ],
)
def test_helm_lint_strict_passes(helm: Helm, values: dict[str, Any]) -> None:
    linted = helm.run("lint", "--strict", str(CHART_DIR), "-f", str(helm.values_file(values, "lint")))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 chart(s) failed" in linted.stdout
    assert "[WARNING]" not in linted.stdout


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"replicas": -1}, "at '/replicas': minimum: got -1, want 1", id="negative-replicas"),
        pytest.param({"replicas": 0}, "at '/replicas': minimum: got 0, want 1", id="zero-replicas"),
        pytest.param({"replicas": "two"}, "at '/replicas': got string, want integer", id="replicas-string"),
        pytest.param(
            {"replicaCount": 2},
            "at '': additional properties 'replicaCount' not allowed",
            id="unknown-top-key",
        ),
        pytest.param(
            {"logLevel": "loud"},
            "at '/logLevel': value must be one of 'debug', 'info', 'warning', 'error'",
            id="bad-log-level",
        ),
        pytest.param(
            {"webhook": {"failurePolicy": "Maybe"}},
            "at '/webhook/failurePolicy': value must be one of 'Fail', 'Ignore'",
            id="bad-failure-policy",
        ),
        pytest.param(
            {"webhook": {"port": 443}},
            "at '/webhook/port': minimum: got 443, want 1,024",
            id="privileged-port",
        ),
        pytest.param(
            {"webhook": {"certManager": {"enable": True}}},
            "at '/webhook/certManager': additional properties 'enable' not allowed",
            id="nested-typo",
        ),
        pytest.param(
            {"watchNamespaces": ["Team_A"]}, "at '/watchNamespaces/0'", id="namespace-not-dns-label"
        ),
        pytest.param({"watchNamespaces": ["a", "a"]}, "at '/watchNamespaces'", id="namespace-listed-twice"),
        pytest.param({"runAsUser": 0}, "at '/runAsUser': minimum: got 0, want 1", id="root-user"),
        pytest.param(
            {"image": {"repository": "x", "digest": "latest"}}, "at '/image/digest'", id="digest-not-sha256"
        ),
    ],
)
def test_schema_rejects_bad_values(helm: Helm, values: dict[str, Any], message: str) -> None:
    rendered = helm.run(
        "template", "vs", str(CHART_DIR), "-f", str(helm.values_file(values, "bad")), "--namespace", "vs"
    )
    assert rendered.returncode != 0
    assert "values don't meet the specifications of the schema(s)" in rendered.stderr
    assert message in rendered.stderr


def test_more_than_one_replica_needs_leader_election(helm: Helm) -> None:
    rendered = helm.run(
        "template", "vs", str(CHART_DIR), "-f", str(helm.values_file({"replicas": 2}, "no-ha"))
    )
    assert rendered.returncode != 0
    assert "replicas > 1 needs ha.enabled=true" in rendered.stderr


def test_not_created_service_account_must_be_named(helm: Helm) -> None:
    values = {"serviceAccount": {"create": False}}
    rendered = helm.run("template", "vs", str(CHART_DIR), "-f", str(helm.values_file(values, "no-sa")))
    assert rendered.returncode != 0
    assert "serviceAccount.name is required when serviceAccount.create is false" in rendered.stderr


def test_chart_crds_are_the_generated_crds() -> None:
    generated = {path.name: path.read_bytes() for path in sorted((REPO_ROOT / "crds").glob("*.yaml"))}
    carried = {path.name: path.read_bytes() for path in sorted((CHART_DIR / "crds").glob("*.yaml"))}
    assert generated, "crds/ holds no CRD"
    fix = "run `cp crds/*.yaml charts/vaultsync/crds/` from the repository root"
    missing = sorted(set(generated) - set(carried))
    extra = sorted(set(carried) - set(generated))
    differing = sorted(name for name in set(generated) & set(carried) if generated[name] != carried[name])
    drift = {"missing": missing, "extra": extra, "differing": differing}
    assert drift == {"missing": [], "extra": [], "differing": []}, (
        f"charts/vaultsync/crds/ differs from crds/ ({drift}): {fix}"
        + (" and delete the extra files" if extra else "")
    )
