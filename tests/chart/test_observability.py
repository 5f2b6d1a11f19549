"""The chart's observability pack: ServiceMonitor, PrometheusRule and Grafana dashboard, each off by
default and on by its own value; the alert rules pass ``promtool check rules`` (promtool built from
the Go module proxy). That every metric they use exists on a live operator is checked by
tests/e2e/test_observability_metrics.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chart.chart_tools import Helm, of_kind, one
from vaultsync_devstack import Stack, gobuild

pytestmark = pytest.mark.stack
# promtool is built from the Go module proxy on first use (cold: several minutes on a loaded machine).
BUILDS_PROMTOOL = pytest.mark.timeout(1800)

ALERTS = {
    "VaultsyncSyncsFailing",
    "VaultsyncBackendFailing",
    "VaultsyncManagedSecretsFailed",
    "VaultsyncSecretExpiringSoon",
    "VaultsyncApprovalPendingTooLong",
    "VaultsyncNoLeader",
    "VaultsyncNoSyncProgress",
}
PARTS = {
    "serviceMonitor": "ServiceMonitor",
    "prometheusRule": "PrometheusRule",
    "grafanaDashboard": "ConfigMap",
}


def _pack(**enabled: bool) -> dict[str, Any]:
    return {"metrics": {part: {"enabled": on} for part, on in enabled.items()}}


def _rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (rule,) = of_kind(objects, "PrometheusRule")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


@pytest.mark.parametrize("part", list(PARTS))
def test_each_part_is_optional(helm: Helm, part: str) -> None:
    assert of_kind(helm.template({}), PARTS[part]) == [], "off by default"
    alone = helm.template(_pack(**{part: True}))
    for other, kind in PARTS.items():
        assert bool(of_kind(alone, kind)) == (other == part), (part, other)


def test_prometheus_rule_has_every_alert_scoped_to_the_release(helm: Helm) -> None:
    objects = helm.template(_pack(prometheusRule=True), namespace="secrets-ops")
    rules = _rules(objects)
    assert {r["alert"] for r in rules} == ALERTS
    assert all('namespace="secrets-ops"' in r["expr"] for r in rules), [r["expr"] for r in rules]
    assert all(r["labels"]["severity"] in ("warning", "critical") for r in rules)


def test_thresholds_and_selector_come_from_values(helm: Helm) -> None:
    values = _pack(prometheusRule=True)
    values["metrics"]["prometheusRule"] |= {"targetFailingFor": "45m", "expiryWarningDays": 3}
    values["metrics"]["selector"] = 'job="vaultsync"'
    rules = {r["alert"]: r for r in _rules(helm.template(values))}
    assert rules["VaultsyncBackendFailing"]["for"] == "45m"
    assert rules["VaultsyncSecretExpiringSoon"]["expr"].endswith("< 259200")
    assert all('job="vaultsync"' in r["expr"] and "namespace=" not in r["expr"] for r in rules.values())


def test_dashboard_config_map_holds_the_dashboard_for_the_sidecar(helm: Helm) -> None:
    objects = helm.template(_pack(grafanaDashboard=True))
    config_map = one(objects, "ConfigMap", "vs-vaultsync-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["vaultsync.json"])
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Sync rate by result", "Sync failures by reason", "Queue depth", "Approvals pending"} <= titles
    assert all(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])


def _check_rules(stack: Stack, groups: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    promtool = gobuild.build_promtool(stack.cache)
    path.write_text(yaml.safe_dump(groups))
    return subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


@BUILDS_PROMTOOL
def test_promtool_accepts_the_rules(helm: Helm, stack: Stack, tmp_path: Path) -> None:
    (rule,) = of_kind(helm.template(_pack(prometheusRule=True)), "PrometheusRule")
    checked = _check_rules(stack, rule["spec"], tmp_path / "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout


@BUILDS_PROMTOOL
def test_promtool_refuses_a_broken_expression(stack: Stack, tmp_path: Path) -> None:
    """The check above can fail: a rule promtool cannot parse is reported."""
    broken = {"groups": [{"name": "x", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]}
    checked = _check_rules(stack, broken, tmp_path / "broken.yaml")
    assert checked.returncode != 0
    assert "parse error" in checked.stdout + checked.stderr
