"""A loopback TCP proxy that can cut a server off: the outage tests' one way to fail a network.

Stopping a server process tests only a refused connection. Real outages also hang: a load
balancer accepts and never answers, or a connection in flight dies. :class:`TcpProxy` forwards
``127.0.0.1:<port>`` to an upstream port and can, at any moment, ``refuse`` new connections
(closing the ones in flight) or ``hang`` them (accept, read, never answer), then ``heal``.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from enum import Enum


class Mode(Enum):
    FORWARD = "forward"
    REFUSE = "refuse"
    HANG = "hang"


class TcpProxy:
    """Forwards one loopback port to ``upstream_port``; ``refuse``/``hang`` cut it, ``heal`` restores it."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._mode = Mode.FORWARD
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = threading.Event()
        self.accepted = 0
        """Connections accepted so far: proves a test's client really went through the proxy."""
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True).start()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _set(self, mode: Mode) -> None:
        with self._lock:
            self._mode = mode
            doomed = list(self._open) if mode is not Mode.FORWARD else []
        for sock in doomed:  # connections in flight die with the outage, as in a real one
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def refuse(self) -> None:
        self._set(Mode.REFUSE)

    def hang(self) -> None:
        self._set(Mode.HANG)

    def heal(self) -> None:
        self._set(Mode.FORWARD)

    @contextlib.contextmanager
    def cut(self, mode: Mode = Mode.REFUSE) -> Iterator[None]:
        self._set(mode)
        try:
            yield
        finally:
            self.heal()

    def close(self) -> None:
        self._closed.set()
        self._set(Mode.REFUSE)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self._mode
                self.accepted += 1
            if mode is Mode.REFUSE:
                # RST instead of FIN: the client sees "connection reset", as with a dead host.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            target = threading.Thread(
                target=self._hang if mode is Mode.HANG else self._pipe, args=(client,), daemon=True
            )
            target.start()

    def _hang(self, client: socket.socket) -> None:
        self._track(client)
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self._forget(client)

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=5)
        except OSError:
            self._forget(client)
            return
        upstream.settimeout(None)
        self._track(client, upstream)
        peers = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in selector.select(timeout=1.0):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
                if self._closed.is_set():
                    return
        except OSError:
            return
        finally:
            selector.close()
            self._forget(client, upstream)
