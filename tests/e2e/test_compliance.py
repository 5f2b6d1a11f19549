"""Compliance rules on the profiles: Enforce blocks the push with phase NonCompliant, Audit records."""

from __future__ import annotations

import uuid
from typing import Any

import hvac
import pytest

from e2e.support import Cluster, wait_for
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack


def _status(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.get("managedsecrets", name).get("status") or {}


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def _profile(cluster: Cluster, openbao: OpenBao, name: str, enforcement: str) -> None:
    cluster.create(
        "vaultprofiles",
        name,
        {
            "provider": {
                "hashicorp": {
                    "address": openbao.address,
                    "auth": {"token": {"secretRef": {"name": "bao-token", "key": "token"}}},
                }
            },
            "compliance": {
                "enforcement": enforcement,
                "rules": {"minLength": 24, "forbiddenPatterns": ["(?i)password"]},
            },
        },
    )


def test_enforced_rules_block_the_push_until_the_content_complies(cluster: Cluster, openbao: OpenBao) -> None:
    bao = hvac.Client(url=openbao.address, token=openbao.root_token)
    cluster.secret("bao-token", {"token": openbao.root_token})
    _profile(cluster, openbao, "strict", "Enforce")
    path = f"e2e/{cluster.namespace}/weak"
    weak = "Password1!" + uuid.uuid4().hex[:4]
    bao.secrets.kv.v2.create_or_update_secret(path=path, secret={"username": "u", "password": weak})
    cluster.create(
        "managedsecrets",
        "weak",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "strict"}, "path": path},
            "kubernetesSecrets": [{"name": "weak"}],
        },
    )
    status = wait_for(lambda: (s := _status(cluster, "weak")).get("phase") == "NonCompliant" and s, 60)
    compliant = _condition(status, "Compliant")
    assert compliant["status"] == "False"
    assert "minLength" in compliant["message"]
    assert "forbiddenPatterns" in compliant["message"]
    failing = {r["rule"] for r in status["compliance"]["results"] if not r["passed"]}
    assert failing == {"minLength", "forbiddenPatterns"}
    with pytest.raises(Exception, match=r"Not Found|404"):
        cluster.secret_data("weak")
    assert weak not in str(status) + str([e.message for e in cluster.events("weak")])

    strong = uuid.uuid4().hex + uuid.uuid4().hex
    bao.secrets.kv.v2.create_or_update_secret(path=path, secret={"username": "u", "password": strong})
    cluster.patch(
        "managedsecrets", "weak", {"metadata": {"annotations": {"vaultsync.io/refresh-requested-at": "1"}}}
    )
    wait_for(lambda: _status(cluster, "weak").get("phase") == "Synced", 60, "Synced once compliant")
    assert cluster.secret_data("weak")["password"] == strong
    assert _condition(_status(cluster, "weak"), "Compliant")["status"] == "True"


def test_audited_rules_record_findings_and_still_push(cluster: Cluster, openbao: OpenBao) -> None:
    bao = hvac.Client(url=openbao.address, token=openbao.root_token)
    cluster.secret("bao-token", {"token": openbao.root_token})
    _profile(cluster, openbao, "audit", "Audit")
    path = f"e2e/{cluster.namespace}/audited"
    bao.secrets.kv.v2.create_or_update_secret(path=path, secret={"apiKey": "short-" + uuid.uuid4().hex[:6]})
    cluster.create(
        "managedsecrets",
        "audited",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "audit"}, "path": path},
            "kubernetesSecrets": [{"name": "audited"}],
        },
    )
    status = wait_for(lambda: (s := _status(cluster, "audited")).get("phase") == "Synced" and s, 60)
    compliant = _condition(status, "Compliant")
    assert (compliant["status"], compliant["reason"]) == ("False", "AuditFindings")
    assert cluster.secret_data("audited")["apiKey"].startswith("short-")
