"""The local demo: the stack, the CRDs, the examples and the operator, until Ctrl-C.

Source content is generated here at start (random passwords, fresh keys and certificates)
and written into OpenBao; nothing of it is in the repository. The examples' ``local``
overlay names OpenBao on 127.0.0.1:18200 and moto on 127.0.0.1:15000 (``./scripts/dev``'s
ports); :func:`prepare` points them at the servers it is given, so a test stack on other ports
gets the same demo.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from vaultsync.secrets import formats
from vaultsync.secrets.generators import (
    CertificateRequest,
    generate_password,
    generate_private_key,
    generate_secret_key,
    generate_self_signed_certificate,
)
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.localenv import render_example
from vaultsync_devstack.process import ManagedProcess, current_run, port_open
from vaultsync_devstack.vaults import Moto, OpenBao
from vaultsync_devstack.webhook import serve_webhooks

REPO = Path(__file__).resolve().parents[2]
OPENBAO_PORT, MOTO_PORT = 18200, 15000
DEMO_NAMESPACE, OPERATOR_NAMESPACE = "vaultsync-demo", "vaultsync-system"
KINDS = "vaultprofiles,managedsecrets,approvalrequests"


def _jwt() -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    exp = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
    claims = {"iss": "https://issuer.demo", "sub": "service", "exp": exp}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _keystore() -> dict[str, str]:
    cert = formats.to_document(generate_self_signed_certificate(CertificateRequest("keystore.demo")))
    password = secrets.token_urlsafe(16)
    key = serialization.load_pem_private_key(str(cert["privateKey"]).encode(), None)
    certificate = x509.load_pem_x509_certificate(str(cert["certificate"]).encode())
    encryption = serialization.BestAvailableEncryption(password.encode())
    blob = pkcs12.serialize_key_and_certificates(b"demo", key, certificate, None, encryption)  # type: ignore[arg-type]
    return {"keystore": base64.b64encode(blob).decode(), "password": password}


def _password(length: int) -> str:
    return str(generate_password(length).fields["value"])


def demo_documents() -> dict[str, dict[str, Any]]:
    """Fresh content for every example ManagedSecret, keyed by its OpenBao path."""
    return {
        "demo/db": {"username": "app", "password": _password(24)},
        "demo/payments-api-key": {"apiKey": secrets.token_urlsafe(32), "headerName": "X-Api-Key"},
        "demo/ci-token": {"token": secrets.token_urlsafe(40)},
        "demo/service-jwt": {"token": _jwt()},
        "demo/oauth-client": {
            "clientId": "demo-client",
            "clientSecret": _password(32),
            "scopes": ["read", "write"],
            "tokenUrl": "https://issuer.demo/oauth2/token",
        },
        "demo/signing-key": formats.to_document(generate_private_key("EC")),
        "demo/session-key": formats.to_document(generate_secret_key(32)),
        "demo/web-tls": formats.to_document(
            generate_self_signed_certificate(CertificateRequest("web.demo", dns_names=("web.demo",)))
        ),
        "demo/java-keystore": _keystore(),
        "demo/app-settings": {
            "LOG_LEVEL": "info",
            "FEATURE_FLAGS": "a,b",
            "DB_PASSWORD": _password(20),
        },
        "demo/license-blob": {"value": secrets.token_hex(64)},
        "demo/payments-db": {"username": "payments", "password": _password(24)},
    }


def _bao_write(bao: OpenBao, path: str, document: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{bao.address}/v1/secret/data/{path}",
        data=json.dumps({"data": document}).encode(),
        method="POST",
        headers={"X-Vault-Token": bao.root_token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback
        pass


def _kubectl(kube: KubeControlPlane, *args: str, input: str | None = None) -> str:
    done = kube.kubectl(*args, input=input)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def _secret_manifest(name: str, data: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": DEMO_NAMESPACE},
            "stringData": data,
        }
    )


def prepare(kube: KubeControlPlane, bao: OpenBao, moto: Moto) -> None:
    """CRDs, namespaces, credential Secrets and source content (idempotent; ``apply_examples`` follows)."""
    _kubectl(kube, "apply", "--server-side", "-f", str(REPO / "crds"))
    for plural in KINDS.split(","):
        kube.wait_established(f"{plural}.vaultsync.io")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}}
    _kubectl(kube, "apply", "-f", "-", input=json.dumps(namespace))
    _kubectl(kube, "apply", "-f", str(REPO / "examples" / "base" / "namespace.yaml"))
    _kubectl(kube, "apply", "-f", "-", input=_secret_manifest("openbao-token", {"token": bao.root_token}))
    _kubectl(
        kube,
        "apply",
        "-f",
        "-",
        input=_secret_manifest(
            "aws-credentials", {"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key}
        ),
    )
    for path, document in demo_documents().items():
        _bao_write(bao, path, document)


def apply_examples(kube: KubeControlPlane, bao: OpenBao, moto: Moto) -> None:
    """The examples, pointed at the stack's ports, once the operator's webhooks run: they record
    who wrote each spec."""
    for example in ("local", "approvals"):
        rendered = _kubectl(kube, "kustomize", str(REPO / "examples" / example))
        _kubectl(kube, "apply", "-f", "-", input=render_example(rendered, bao, moto))


def start_operator(kube: KubeControlPlane, state: Path) -> ManagedProcess:
    """The operator as a process, with its admission webhooks registered against the apiserver."""
    serving = serve_webhooks(kube, state)
    log = state / "operator" / "logs" / "operator.log"
    process = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in current_run(log) and port_open(serving.port),
        env={
            **serving.env,
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
            "VAULTSYNC_METRICS_PORT": "0",
            "VAULTSYNC_METRICS_ADDRESS": "127.0.0.1",
            "VAULTSYNC_WEBHOOK_ADDRESS": "127.0.0.1",
        },
    )
    process.start()
    return process


def all_synced(kube: KubeControlPlane) -> tuple[bool, str]:
    """Whether every example ManagedSecret is Synced, and the table that shows it."""
    phases = _kubectl(
        kube,
        "get",
        "managedsecrets",
        "-n",
        DEMO_NAMESPACE,
        "-o",
        "jsonpath={range .items[*]}{.status.phase}{'\\n'}{end}",
    ).split()
    table = _kubectl(kube, "get", KINDS, "-n", DEMO_NAMESPACE)
    expected = len(demo_documents())
    return len(phases) == expected and all(p == "Synced" for p in phases), table


def approval_walkthrough(env_file: Path) -> str:
    """Where to try the approval gate on the running demo (payments-db is gated by examples/approvals)."""
    return "\n".join(
        [
            "Try the approval gate (payments-db needs 2 approvals from group vaultsync:security):",
            f"  source {env_file}",
            "  then follow docs/approvals.md, section 'Walkthrough on the local stack'.",
        ]
    )


def wait_until_synced(kube: KubeControlPlane, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    table = ""
    while time.monotonic() < deadline:
        done, table = all_synced(kube)
        if done:
            return table
        time.sleep(0.5)  # two kubectl runs per look
    raise TimeoutError(f"not every ManagedSecret reached Synced within {timeout:.0f}s:\n{table}")
