"""Lowkey Vault, the Azure Key Vault emulator, as a server of the local stack.

How the jar is obtained and started lives in ``lowkey``; this wraps it in the common
process supervision so it behaves like the other servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultsync_devstack import lowkey
from vaultsync_devstack.process import ManagedProcess, free_port


@dataclass
class LowkeyVault:
    state: Path
    cache: Path
    port: int = field(default_factory=free_port)
    token_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def vault_url(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self) -> None:
        jar = lowkey.fetch_lowkey_jar(self.cache)
        self.process = ManagedProcess(
            name="lowkey-vault",
            command=lowkey.lowkey_command(jar, self.port, self.token_port),
            log_path=self.state / "logs" / "lowkey-vault.log",
            ready=lambda: lowkey.lowkey_ready(self.port),
            start_timeout=120,
            cwd=self.state,
        )
        self.state.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stopped(self) -> Any:
        if self.process is None:
            raise RuntimeError("Lowkey Vault was never started")
        return self.process.stopped()

    def stop(self) -> None:
        if self.process:
            self.process.stop()
