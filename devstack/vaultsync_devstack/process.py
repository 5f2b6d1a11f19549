"""One supervised server process: start, wait until healthy, stop, restart on the same port.

Every server of the stack is run through this class so that logs always land in a file
(printed by the test session when a test fails) and a server that cannot start says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ServerStartError(RuntimeError):
    """A server of the local stack did not become healthy."""


def venv_binary(name: str) -> str:
    """A console script installed beside the running Python (the test extras), else on PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install the test extras (`pip install -e '.[test]'`)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


START_MARK = "\n=== starting "


def current_run(log: Path) -> str:
    """The part of ``log`` written since the process was last started: logs are appended across
    restarts, and a readiness check must not find the line of an earlier run."""
    text = log.read_text(errors="replace")
    return text[text.rfind(START_MARK) :] if START_MARK in text else text


@dataclass
class ManagedProcess:
    """A long-running server started from ``command`` with its output in ``log_path``."""

    name: str
    command: Sequence[str]
    log_path: Path
    ready: Callable[[], bool]
    """Health probe; called until it returns True or ``start_timeout`` passes."""
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    start_timeout: float = 60.0
    after_start: Callable[[], None] | None = None
    """Provisioning run after every (re)start, e.g. enabling mounts."""
    stop_timeout: float = 15.0
    """Seconds :meth:`stop` waits after SIGTERM before it sends SIGKILL."""
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        log = self.log_path.open("ab")
        log.write(f"{START_MARK}{self.name}: {' '.join(self.command)}\n".encode())
        log.flush()
        self._proc = subprocess.Popen(
            list(self.command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        self._wait_ready()
        if self.after_start:
            self.after_start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self._proc.returncode} during start; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with contextlib.suppress(Exception):
                if self.ready():
                    return
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(
            f"{self.name} not healthy after {self.start_timeout:.0f}s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, timeout: float | None = None) -> None:
        timeout = self.stop_timeout if timeout is None else timeout
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stops the server for the body of the ``with`` block, then starts it again."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log written)"
