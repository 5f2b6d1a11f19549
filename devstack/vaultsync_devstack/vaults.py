"""The vault servers of the local stack: an OpenBao dev server and moto's Secrets Manager.

Both are in-memory: a restart (``stopped()``) loses their data but keeps the address,
the root token and the mounts, so a test can see a vault vanish and come back.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultsync_devstack.process import ManagedProcess, free_port, venv_binary

OPENBAO_ROOT_TOKEN = "devstack-root"  # noqa: S105 - a throwaway dev-server token on loopback


def _request(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
    if token:
        request.add_header("X-Vault-Token", token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        payload = response.read()
    return json.loads(payload) if payload else None


@dataclass
class OpenBao:
    """OpenBao dev server: KV v2 at ``secret/``, KV v1 at ``kv1/``, AppRole at ``approle/``."""

    state: Path
    port: int = field(default_factory=free_port)
    root_token: str = OPENBAO_ROOT_TOKEN
    process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = ManagedProcess(
            name="openbao",
            command=[
                venv_binary("bao"),
                "server",
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
            ],
            log_path=self.state / "logs" / "openbao.log",
            ready=lambda: _request("GET", f"{self.address}/v1/sys/health")["initialized"] is True,
            after_start=self._provision,
            env={"BAO_ADDR": self.address, "HOME": str(self.state)},
        )
        self.process.start()

    def _provision(self) -> None:
        mounts = _request("GET", f"{self.address}/v1/sys/mounts", self.root_token)
        if "kv1/" not in mounts.get("data", mounts):
            _request(
                "POST",
                f"{self.address}/v1/sys/mounts/kv1",
                self.root_token,
                {"type": "kv", "options": {"version": "1"}},
            )
        auths = _request("GET", f"{self.address}/v1/sys/auth", self.root_token)
        if "approle/" not in auths.get("data", auths):
            _request("POST", f"{self.address}/v1/sys/auth/approle", self.root_token, {"type": "approle"})

    def stopped(self) -> Any:
        if self.process is None:
            raise RuntimeError("OpenBao was never started")
        return self.process.stopped()

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@dataclass
class Moto:
    """moto in server mode, answering the Secrets Manager (and STS) APIs."""

    state: Path
    port: int = field(default_factory=free_port)
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105 - moto accepts any credentials
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the server (e.g. moto's ``INITIAL_NO_AUTH_ACTION_COUNT``)."""
    process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = ManagedProcess(
            name="moto",
            command=[
                sys.executable,
                "-m",
                "vaultsync_devstack.moto_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            log_path=self.state / "logs" / "moto.log",
            ready=lambda: _request("GET", f"{self.endpoint}/moto-api/data.json") is not None,
            env=self.env or None,
        )
        self.process.start()

    def stopped(self) -> Any:
        if self.process is None:
            raise RuntimeError("moto was never started")
        return self.process.stopped()

    def stop(self) -> None:
        if self.process:
            self.process.stop()
