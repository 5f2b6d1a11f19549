"""End to end: a vault going away and invalid source content, and how the operator comes back.

A failing target must not take the healthy ones down with it, nothing invalid may reach
any target, and recovery needs no human: the daemon retries with backoff.
"""

from __future__ import annotations

import pytest

from e2e.scenario import (
    assert_no_leak,
    aws_document,
    aws_exists,
    bao_write,
    condition,
    phase_is,
    posted,
    secret_exists,
    self_signed_certificate,
    status_of,
    target_states,
    unique_value,
)
from e2e.support import Cluster, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]


def test_aws_outage_fails_only_that_target_and_recovers_after_restart(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path, aws_path = f"e2e/{ns}/outage", f"e2e/{ns}/outage-copy"
    password = unique_value("outage")
    bao_write(openbao, source_path, {"username": "app", "password": password})
    cluster.create(
        "managedsecrets",
        "outage",
        {
            "type": "basic-auth",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "kubernetesSecrets": [{"name": "outage"}],
            "refreshInterval": "2s",
        },
    )
    wait_for(lambda: phase_is(cluster, "outage", "Synced", 1), 60, "version 1 Synced")
    aws_key, secret_key = f"{ns}/aws:{aws_path}", f"{ns}/outage"

    with moto.stopped():
        failed = wait_for(lambda: phase_is(cluster, "outage", "Failed"), 30, "Failed while moto is down")
        ready = condition(failed, "Ready")
        assert ready["status"] == "False"
        assert aws_key in ready["message"], ready["message"]
        assert target_states(failed) == {aws_key: "Failed", secret_key: "Synced"}
        assert cluster.secret_data("outage")["password"] == password, "the healthy target keeps its copy"

    recovered = wait_for(lambda: phase_is(cluster, "outage", "Synced"), 60, "Synced after moto is back")
    assert condition(recovered, "Ready")["status"] == "True"
    assert recovered["currentVersion"] == 1, "re-creating a lost copy is not a new version"
    assert target_states(recovered) == {aws_key: "Synced", secret_key: "Synced"}
    assert aws_document(moto, aws_path) == {"username": "app", "password": password}
    posted(cluster, "outage", "TargetFailed")
    assert_no_leak(cluster, operator, ["outage"], [password])


BROKEN_PEM = "-----BEGIN CERTIFICATE-----\nMIIBroken!!notbase64\n-----END CERTIFICATE-----\n"


def test_invalid_certificate_is_not_pushed_anywhere_until_fixed(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path, aws_path = f"e2e/{ns}/tls", f"e2e/{ns}/tls-copy"
    certificate, private_key, _ = self_signed_certificate(f"{ns}.example.test")
    bao_write(openbao, source_path, {"certificate": BROKEN_PEM, "privateKey": private_key})
    cluster.create(
        "managedsecrets",
        "tls",
        {
            "type": "certificate",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "kubernetesSecrets": [{"name": "tls"}],
            "refreshInterval": "2s",
        },
    )
    failed = wait_for(lambda: phase_is(cluster, "tls", "Failed"), 60, "Failed on invalid content")
    ready = condition(failed, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidContent")
    detail = ready["message"].partition("not a valid certificate")[2]
    assert "certificate" in detail, f"the message must name the field: {ready['message']}"
    assert "PEM" in detail, ready["message"]
    posted(cluster, "tls", "InvalidContent")
    assert not secret_exists(cluster, "tls"), "nothing invalid reaches a Kubernetes Secret"
    assert not aws_exists(moto, aws_path), "nothing invalid reaches a sync vault"

    bao_write(openbao, source_path, {"certificate": certificate, "privateKey": private_key})
    synced = wait_for(lambda: phase_is(cluster, "tls", "Synced", 1), 30, "Synced once the source is fixed")
    assert condition(synced, "Ready")["status"] == "True"
    assert cluster.secret_data("tls")["tls.crt"].strip() == certificate.strip()
    assert aws_document(moto, aws_path)["certificate"].strip() == certificate.strip()
    assert_no_leak(cluster, operator, ["tls"], [private_key])
    assert status_of(cluster, "tls").get("expiresAt")


def test_a_value_too_large_for_one_target_fails_it_by_name_and_the_others_still_sync(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path, aws_path = f"e2e/{ns}/big", f"e2e/{ns}/big-copy"
    marker = unique_value("big")
    big = marker + "x" * 100_000  # fits OpenBao and a Secret; AWS takes 64 KiB
    bao_write(openbao, source_path, {"blob": big})
    cluster.create(
        "managedsecrets",
        "big",
        {
            "type": "key-value",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "kubernetesSecrets": [{"name": "big"}],
            "refreshInterval": "2s",
        },
    )
    failed = wait_for(lambda: phase_is(cluster, "big", "Failed"), 60, "Failed on the AWS size limit")
    synced = condition(failed, "Synced")
    assert (synced["status"], synced["reason"]) == ("False", "TargetsFailed")
    size = len('{"blob":""}') + len(big)
    for part in (aws_path, "limit of 65536 bytes", f"{size} bytes", "AWS Secrets Manager"):
        assert part in synced["message"], synced["message"]
    aws_key, secret_key = f"{ns}/aws:{aws_path}", f"{ns}/big"
    assert target_states(failed) == {aws_key: "Failed", secret_key: "Synced"}
    assert cluster.secret_data("big")["blob"] == big, "the target it fits is written"
    assert not aws_exists(moto, aws_path), "the one it does not fit is not touched, whatever moto accepts"
    assert_no_leak(cluster, operator, ["big"], [marker])
