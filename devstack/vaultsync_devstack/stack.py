"""The whole local stack behind one object, each server started on first use.

Tests ask for one server at a time (a unit of the backends suite needs only OpenBao);
``vaultsync-devstack`` starts them all.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vaultsync_devstack import gobuild
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.lowkey_server import LowkeyVault
from vaultsync_devstack.process import ManagedProcess
from vaultsync_devstack.vaults import Moto, OpenBao


def default_cache_dir() -> Path:
    """``$VAULTSYNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/vaultsync``, else ``~/.cache/vaultsync``."""
    explicit = os.environ.get("VAULTSYNC_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "vaultsync"


@dataclass
class Stack:
    """Lazily started servers sharing one cache (builds, downloads) and one state directory."""

    cache: Path = field(default_factory=default_cache_dir)
    state: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vaultsync-devstack-")))
    _kube: KubeControlPlane | None = None
    _openbao: OpenBao | None = None
    _moto: Moto | None = None
    _lowkey: LowkeyVault | None = None
    openbao_port: int | None = None
    """Fixed OpenBao port (the demo's examples expect 18200); a free one when None."""
    moto_port: int | None = None
    """Fixed moto port (the demo's examples expect 15000); a free one when None."""
    etcd_quota_bytes: int = 2 * 1024**3
    attached: list[ManagedProcess] = field(default_factory=list)
    """Other processes started against the stack (the operator under test); stopped with it."""

    @property
    def kube(self) -> KubeControlPlane:
        if self._kube is None:
            kube = KubeControlPlane(
                state=self.state / "kube", cache=self.cache, etcd_quota_bytes=self.etcd_quota_bytes
            )
            self._kube = kube
            kube.start()
        return self._kube

    @property
    def openbao(self) -> OpenBao:
        if self._openbao is None:
            bao = OpenBao(state=self.state / "openbao")
            bao.port = self.openbao_port or bao.port
            self._openbao = bao
            bao.start()
        return self._openbao

    @property
    def moto(self) -> Moto:
        if self._moto is None:
            moto = Moto(state=self.state / "moto")
            moto.port = self.moto_port or moto.port
            self._moto = moto
            moto.start()
        return self._moto

    @property
    def lowkey(self) -> LowkeyVault:
        if self._lowkey is None:
            lowkey = LowkeyVault(state=self.state / "lowkey", cache=self.cache)
            self._lowkey = lowkey
            lowkey.start()
        return self._lowkey

    @property
    def helm(self) -> Path:
        """The pinned helm binary (built once per version into the cache)."""
        return gobuild.build_helm(self.cache)

    def start(self, *servers: str) -> None:
        """Starts the named servers (``kube``, ``openbao``, ``moto``, ``lowkey``) unless running."""
        for server in servers:
            if server not in ("kube", "openbao", "moto", "lowkey"):
                raise ValueError(f"unknown server {server!r}")
            getattr(self, server)

    def processes(self) -> list[ManagedProcess]:
        found: list[ManagedProcess] = []
        if self._kube:
            found += self._kube.processes
        for server in (self._openbao, self._moto, self._lowkey):
            if server and server.process:
                found.append(server.process)
        return found + self.attached

    def log_files(self) -> list[Path]:
        return sorted((self.state).glob("*/logs/*.log"))

    def stop(self) -> None:
        for process in self.attached:
            process.stop()
        for server in (self._lowkey, self._moto, self._openbao, self._kube):
            if server is not None:
                server.stop()
