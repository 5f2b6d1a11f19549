"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

Started the way envtest starts one (RBAC, service-account signing key, client-certificate
users), plus the controller-manager's garbage collector and namespace controller so owner
references and namespace deletion behave as in a cluster. Users: ``admin``
(``system:masters``) and the non-admin ``alice``, ``bob``, ``carol`` and ``dave``, each a
client certificate with its own kubeconfig.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vaultsync_devstack import gobuild
from vaultsync_devstack.pki import CertificateAuthority, write_service_account_key
from vaultsync_devstack.process import ManagedProcess, free_port

USERS: dict[str, tuple[str, ...]] = {
    "admin": ("system:masters",),
    "alice": ("vaultsync:developers",),
    "bob": ("vaultsync:security",),
    "carol": ("vaultsync:security",),
    "dave": (),
}
"""Client-certificate users and their groups (the certificate's O fields)."""


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@dataclass
class KubeControlPlane:
    """etcd + kube-apiserver (+ controller-manager) with kubeconfigs under ``state``."""

    state: Path
    cache: Path
    with_controller_manager: bool = True
    etcd_quota_bytes: int = 2 * 1024**3
    """etcd's backend size limit; a benchmark of 100,000 objects needs more than the 2 GiB default."""
    port: int = field(default_factory=free_port)
    processes: list[ManagedProcess] = field(default_factory=list)
    etcd_url: str = ""
    """etcd's client URL, once started (tests compact it to expire API server list snapshots)."""

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.kubeconfig_for("admin")

    def kubeconfig_for(self, user: str) -> Path:
        if user not in USERS:
            raise KeyError(f"unknown devstack user {user!r}; known: {sorted(USERS)}")
        return self.state / "kubeconfigs" / f"{user}.yaml"

    @property
    def bin_dir(self) -> Path:
        return gobuild.kube_bin_dir(self.cache)

    @property
    def kubectl_path(self) -> Path:
        return self.bin_dir / "kubectl"

    def kubectl(
        self, *args: str, user: str | None = None, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Runs the real kubectl against this control plane as ``user`` (admin by default)."""
        return subprocess.run(
            [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig_for(user or "admin")), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def api_client(self, user: str | None = None) -> Any:
        """A ``kubernetes`` ApiClient acting as ``user`` (admin by default)."""
        return api_client(self.kubeconfig_for(user or "admin"))

    def wait_established(self, crd: str, timeout: float = 60) -> None:
        """Waits for a CRD's Established condition (``kubectl wait`` fails before conditions exist)."""
        deadline = time.monotonic() + timeout
        query = "jsonpath={.status.conditions[?(@.type=='Established')].status}"
        while time.monotonic() < deadline:
            if self.kubectl("get", f"crd/{crd}", "-o", query).stdout.strip() == "True":
                return
            time.sleep(0.5)
        raise TimeoutError(f"CRD {crd} not Established within {timeout:.0f}s")

    @property
    def audit_log(self) -> Path:
        """Every write to a Secret or a vaultsync.io object, one JSON line each (metadata only:
        no request or response body, so no Secret data), for tests that must attribute writes
        to one namespace."""
        return self.state / "logs" / "audit.jsonl"

    def _audit_policy(self) -> Path:
        policy = self.state / "audit-policy.yaml"
        policy.parent.mkdir(parents=True, exist_ok=True)
        policy.write_text(AUDIT_POLICY)
        return policy

    def start(self) -> None:
        gobuild.build_kubernetes(self.cache)
        pki_dir = self.state / "pki"
        ca = CertificateAuthority(pki_dir)
        serving = ca.issue("apiserver", "kube-apiserver", server_hosts=("127.0.0.1", "localhost", "::1"))
        sa_key, sa_pub = write_service_account_key(pki_dir)
        for user, groups in USERS.items():
            pair = ca.issue(f"user-{user}", user, organizations=groups, client=True)
            self._write_kubeconfig(user, ca.cert_path, pair.cert_path, pair.key_path)

        etcd_port, etcd_peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd_data = self.state / "etcd"
        shutil.rmtree(etcd_data, ignore_errors=True)
        etcd = ManagedProcess(
            name="etcd",
            command=[
                str(gobuild.build_etcd(self.cache)),
                f"--data-dir={etcd_data}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=default=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            log_path=self.state / "logs" / "etcd.log",
            ready=lambda: _http_ok(f"http://127.0.0.1:{etcd_port}/health"),
            env={"ETCD_UNSUPPORTED_ARCH": "", "ETCD_QUOTA_BACKEND_BYTES": str(self.etcd_quota_bytes)},
        )
        apiserver = ManagedProcess(
            name="kube-apiserver",
            command=[
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={pki_dir}",
                f"--tls-cert-file={serving.cert_path}",
                f"--tls-private-key-file={serving.key_path}",
                f"--client-ca-file={ca.cert_path}",
                f"--service-account-issuer={self.server}",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                "--api-audiences=" + ",".join([self.server, "vault", "openbao"]),
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                f"--audit-policy-file={self._audit_policy()}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--v=1",
            ],
            log_path=self.state / "logs" / "kube-apiserver.log",
            ready=lambda: _http_ok(f"{self.server}/readyz", ca=ca.cert_path),
            start_timeout=120,
            # An idle apiserver exits about 1 s after SIGTERM, but one that still holds an
            # in-flight request waits for it (up to its 60 s request timeout) after it has
            # stopped taking new ones: the outages of the chaos and contract tests and every
            # session's end waited the whole default 15 s for that.
            stop_timeout=5,
        )
        self.processes = [etcd, apiserver]
        etcd.start()
        apiserver.start()
        if self.with_controller_manager:
            controller_manager = ManagedProcess(
                name="kube-controller-manager",
                command=[
                    str(self.bin_dir / "kube-controller-manager"),
                    f"--kubeconfig={self.kubeconfig}",
                    f"--authentication-kubeconfig={self.kubeconfig}",
                    f"--authorization-kubeconfig={self.kubeconfig}",
                    "--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token",
                    f"--service-account-private-key-file={sa_key}",
                    f"--root-ca-file={ca.cert_path}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={free_port()}",
                    "--leader-elect=false",
                    "--use-service-account-credentials=false",
                    "--v=1",
                ],
                log_path=self.state / "logs" / "kube-controller-manager.log",
                ready=lambda: (
                    self.kubectl("get", "serviceaccount", "default", "-n", "default").returncode == 0
                ),
                start_timeout=90,
            )
            self.processes.append(controller_manager)
            controller_manager.start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def _write_kubeconfig(self, user: str, ca: Path, cert: Path, key: Path) -> None:
        config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "devstack",
                    "cluster": {"server": self.server, "certificate-authority-data": _b64(ca)},
                }
            ],
            "users": [
                {"name": user, "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}
            ],
            "contexts": [{"name": f"{user}@devstack", "context": {"cluster": "devstack", "user": user}}],
            "current-context": f"{user}@devstack",
        }
        path = self.kubeconfig_for(user)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        os.chmod(path, 0o600)


def _http_ok(url: str, ca: Path | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 - loopback only
        return bool(response.status == 200)


AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
    resources:
      - group: vaultsync.io
      - group: ""
        resources: [secrets]
  - level: None
"""


def api_client(kubeconfig: Path) -> Any:
    """A ``kubernetes`` client ApiClient for ``kubeconfig`` (imported lazily: tests only)."""
    from kubernetes import config  # noqa: PLC0415

    return config.new_client_from_config(config_file=str(kubeconfig))
