"""Shared moves of the end-to-end scenarios: vault clients, status probes, leak scans, evidence.

Everything here talks to the real servers of the stack; nothing is mocked. Evidence of what
the operator did comes from the servers themselves (the apiserver's request metrics, moto's
request recorder), never from inside the operator process.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import hvac
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

from e2e.support import Cluster, as_json, openbao_provider, operator_log, wait_for
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao


def unique_value(label: str) -> str:
    """A throwaway secret value that no log line, event or status may ever contain."""
    return f"e2e-{label}-{uuid.uuid4().hex}"


def bao(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.address, token=openbao.root_token, timeout=5)


def bao_write(openbao: OpenBao, path: str, document: dict[str, Any]) -> None:
    bao(openbao).secrets.kv.v2.create_or_update_secret(path=path, secret=document)


def bao_read(openbao: OpenBao, path: str) -> dict[str, Any]:
    data: dict[str, Any] = bao(openbao).secrets.kv.v2.read_secret_version(
        path=path, raise_on_deleted_version=True
    )["data"]
    return data


def secrets_manager(moto: Moto) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=moto.endpoint,
        region_name=moto.region,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
    )


def aws_document(moto: Moto, name: str) -> dict[str, Any]:
    value = secrets_manager(moto).get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    document: dict[str, Any] = json.loads(value["SecretString"])
    return document


def aws_exists(moto: Moto, name: str) -> bool:
    try:
        secrets_manager(moto).describe_secret(SecretId=name)
    except secrets_manager(moto).exceptions.ResourceNotFoundException:
        return False
    return True


def status_of(cluster: Cluster, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cluster.get("managedsecrets", name).get("status") or {}
    return status


def posted(
    cluster: Cluster, name: str, reason: str, count: int = 1, *, kind: str | None = None, timeout: float = 30
) -> list[str]:
    """The messages of the ``reason`` events about ``name`` once at least ``count`` are there.

    The operator posts events from a task of its own, so they may land after the status and the
    targets they explain: a test that reads them must wait for them, like for any other fact.
    """

    def found() -> list[str]:
        messages = [
            e.message or ""
            for e in cluster.events(name)
            if e.reason == reason and (kind is None or e.involved_object.kind == kind)
        ]
        return messages if len(messages) >= count else []

    messages: list[str] = wait_for(found, timeout, f"{count} {reason} event(s) about {name}")
    return messages


def phase_is(cluster: Cluster, name: str, phase: str, version: int | None = None) -> dict[str, Any] | None:
    """The status when it shows ``phase`` (and ``version``), else None: a ``wait_for`` predicate."""
    status = status_of(cluster, name)
    if status.get("phase") != phase:
        return None
    if version is not None and status.get("currentVersion") != version:
        return None
    return status


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    for found in status.get("conditions") or []:
        if found.get("type") == type_:
            return dict(found)
    raise AssertionError(f"status has no {type_} condition: {sorted(status)}")


def target_states(status: dict[str, Any]) -> dict[str, str]:
    """``status.targets[]`` as ``{profile-or-namespace/name: state}``, keyed by where the copy lives."""
    states: dict[str, str] = {}
    for entry in status.get("targets") or []:
        where = entry.get("vaultProfile") or f"{entry.get('namespace')}/{entry.get('name')}"
        states[f"{where}:{entry['path']}" if entry.get("vaultProfile") else where] = entry["state"]
    return states


def secret_exists(cluster: Cluster, name: str) -> bool:
    try:
        cluster.core.read_namespaced_secret(name, cluster.namespace)
    except client.ApiException as e:
        if e.status == 404:
            return False
        raise
    return True


def assert_no_leak(
    cluster: Cluster, operator: ManagedProcess, names: Iterable[str], values: Iterable[str]
) -> None:
    """No secret value in the operator log, nor in the status or events of ``names``."""
    names = list(names)
    everything = operator_log(operator)
    for name in names:
        if not cluster.gone("managedsecrets", name):
            everything += as_json(status_of(cluster, name))
        everything += as_json([(e.reason, e.message) for e in cluster.events(name)])
    for value in values:
        for fragment in _fragments(value):
            assert fragment not in everything, "a secret value leaked into the log, status or events"


def _fragments(value: str) -> list[str]:
    """The value, and for multi-line PEM its base64 body lines (a leak may be a re-wrapped copy)."""
    lines = [line for line in value.replace("\\n", "\n").splitlines() if len(line) >= 24]
    body = [line for line in lines if not line.startswith("-----")]
    return [value, *body] if body else [value]


def self_signed_certificate(common_name: str, days: int = 30) -> tuple[str, str, dt.datetime]:
    """(certificate PEM, private key PEM, notAfter) of a fresh self-signed EC certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem, certificate.not_valid_after_utc


def with_literal_newlines(pem: str) -> str:
    """PEM as people paste it into vault UIs: one line with ``\\n`` escape sequences."""
    return pem.replace("\n", "\\n")


_BACKEND_CALLS = re.compile(r"^vaultsync_backend_calls_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$")


def _operator_metrics(metrics_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def operator_backend_calls(metrics_port: int, namespace: str) -> dict[tuple[str, str], int]:
    """The operator's vault calls through the profiles of ``namespace``, by (profile, operation).

    Read from its Prometheus endpoint: the counts every backend keeps of its SDK calls.
    """
    calls: dict[tuple[str, str], int] = {}
    for line in _operator_metrics(metrics_port).splitlines():
        matched = _BACKEND_CALLS.match(line)
        if matched is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', matched["labels"]))
        if labels.get("profile", "").startswith(f"{namespace}/"):
            calls[(labels["profile"], labels["operation"])] = int(float(matched["value"]))
    return calls


_ACCESS_REVIEWS = re.compile(r"^vaultsync_access_reviews_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$")


def operator_access_reviews(metrics_port: int, namespace: str) -> int:
    """SubjectAccessReviews the operator sent about Secrets of ``namespace`` (its own counter)."""
    total = 0.0
    for line in _operator_metrics(metrics_port).splitlines():
        matched = _ACCESS_REVIEWS.match(line)
        if matched and dict(re.findall(r'(\w+)="([^"]*)"', matched["labels"])).get("namespace") == namespace:
            total += float(matched["value"])
    return int(total)


def apiserver_writes(kube: KubeControlPlane, namespace: str) -> Counter[tuple[str, str, str]]:
    """Writes the apiserver has served in ``namespace``, by (verb, resource, subresource).

    Read from the apiserver's audit log (writes to Secrets and vaultsync.io objects, metadata
    only), so writes of other tests' namespaces never count, whatever runs beside this one.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    with kube.audit_log.open() as log:
        for line in log:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if event.get("stage") == "ResponseComplete" and ref.get("namespace") == namespace:
                counts[(event["verb"], ref.get("resource", ""), ref.get("subresource", ""))] += 1
    return counts


def _moto_api(moto: Moto, action: str) -> str:
    request = urllib.request.Request(f"{moto.endpoint}/moto-api/recorder/{action}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return str(response.read().decode())


@contextmanager
def moto_requests(moto: Moto) -> Iterator[list[tuple[str, str | None]]]:
    """The Secrets Manager calls moto serves inside the block, as (action, SecretId) pairs.

    Read from moto's own request recorder after the block. The recording file lives in
    moto's working directory; it is emptied before and removed after, so request bodies
    never stay on disk.
    """
    assert moto.process is not None
    assert moto.process._proc is not None
    recording = Path(f"/proc/{moto.process._proc.pid}/cwd").resolve() / "moto_recording"
    calls: list[tuple[str, str | None]] = []
    _moto_api(moto, "reset-recording")
    _moto_api(moto, "start-recording")
    try:
        yield calls
    finally:
        _moto_api(moto, "stop-recording")
        try:
            for line in recording.read_text().splitlines():
                calls.append(_recorded_call(json.loads(line)))
        finally:
            _moto_api(moto, "reset-recording")
            recording.unlink(missing_ok=True)


def _recorded_call(entry: dict[str, Any]) -> tuple[str, str | None]:
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    action = headers.get("x-amz-target", "?").rpartition(".")[2]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    try:
        secret_id = json.loads(body).get("SecretId") if body else None
    except ValueError:
        secret_id = None
    return action, secret_id


def create_gated_profile(cluster: Cluster, openbao: Any, name: str = "bao-gated") -> None:
    """An OpenBao profile whose policy gates Update: one approval from group vaultsync:security
    (the token Secret ``bao-token`` is the ``vault_profiles`` fixture's)."""
    cluster.create(
        "vaultprofiles",
        name,
        {
            "provider": openbao_provider(openbao),
            "approval": {
                "operations": ["Update"],
                "requiredApprovals": 1,
                "approvers": {"groups": ["vaultsync:security"]},
            },
        },
    )


def _namespace_calls(metrics_port: int, namespace: str) -> int:
    return sum(operator_backend_calls(metrics_port, namespace).values())


def operator_worked_on(metrics_port: int, namespace: str, timeout: float = 60) -> None:
    """Returns once the operator has called the vaults of ``namespace`` in two separate moments.

    The proof of absence of the e2e suite: "nothing happened" means something only over a window
    in which the operator demonstrably worked on the namespace. Called after the event whose
    (lack of) consequence is asserted: the first call after it is a sync or a refresh that already
    saw the event, the second one comes after that one began, so whatever it would do is done.
    """
    for moment in ("a call after the event", "a later call"):
        before = _namespace_calls(metrics_port, namespace)
        wait_for(lambda before=before: _namespace_calls(metrics_port, namespace) > before, timeout, moment)


_SYNCS = re.compile(r"^vaultsync_syncs_total\{[^}]*\}\s+(?P<value>[0-9.e+]+)$")


def operator_syncs(metrics_port: int) -> int:
    """Syncs the operator has run, of any ManagedSecret (its ``vaultsync_syncs_total``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return int(sum(float(m["value"]) for line in text.splitlines() if (m := _SYNCS.match(line))))


def operator_ran_syncs(metrics_port: int, count: int = 2, timeout: float = 60) -> None:
    """Returns once the operator has run ``count`` more syncs: a window that saw it at work."""
    before = operator_syncs(metrics_port)
    wait_for(lambda: operator_syncs(metrics_port) >= before + count, timeout, f"{count} more syncs")
