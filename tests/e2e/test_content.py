"""End to end: content as people really store it, and what the operator learns from it.

A PEM pasted into a vault UI often arrives as one line with literal ``\\n`` sequences; it
must sync as a working certificate, and its expiry must appear in status.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from e2e.scenario import (
    assert_no_leak,
    aws_document,
    bao_write,
    phase_is,
    self_signed_certificate,
    with_literal_newlines,
)
from e2e.support import Cluster, wait_for
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("managed_secrets_removed")]


def test_certificate_with_literal_newlines_syncs_and_reports_its_expiry(
    cluster: Cluster, vault_profiles: dict[str, str], openbao: OpenBao, moto: Moto, operator: ManagedProcess
) -> None:
    ns = cluster.namespace
    source_path, aws_path = f"e2e/{ns}/pasted", f"e2e/{ns}/pasted-copy"
    certificate, private_key, not_after = self_signed_certificate(f"{ns}.example.test", days=47)
    pasted = {
        "certificate": with_literal_newlines(certificate),
        "privateKey": with_literal_newlines(private_key),
    }
    assert "\n" not in pasted["certificate"]
    bao_write(openbao, source_path, pasted)
    cluster.create(
        "managedsecrets",
        "pasted",
        {
            "type": "certificate",
            "source": {"vaultProfile": {"name": "bao"}, "path": source_path},
            "syncTargets": [{"vaultProfile": {"name": "aws"}, "path": aws_path}],
            "kubernetesSecrets": [{"name": "pasted-tls"}],
        },
    )
    status = wait_for(lambda: phase_is(cluster, "pasted", "Synced", 1), 60, "version 1 Synced")
    assert status["expiresAt"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")

    written = cluster.secret_data("pasted-tls")
    assert cluster.core.read_namespaced_secret("pasted-tls", ns).type == "kubernetes.io/tls"
    assert x509.load_pem_x509_certificate(written["tls.crt"].encode()).not_valid_after_utc == not_after
    assert written["tls.key"].strip() == private_key.strip()
    copied = aws_document(moto, aws_path)
    assert "\\n" not in copied["certificate"], "sync vaults receive real line breaks"
    assert x509.load_pem_x509_certificate(copied["certificate"].encode()).not_valid_after_utc == not_after
    assert_no_leak(cluster, operator, ["pasted"], [private_key, pasted["privateKey"]])
