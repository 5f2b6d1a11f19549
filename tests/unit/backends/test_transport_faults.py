"""Transport faults of every vault client end in the backend error tree, never in an SDK exception.

Refused connections are covered by ``test_translation``; here the vault hangs (accepts, never
answers: the client's timeout fires), resets the connection, or answers with garbage. All on
loopback sockets, no server process: a :class:`faultproxy.TcpProxy` in front of a closed port
hangs or resets, and a one-shot HTTP responder sends what a broken proxy might.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.keyvault.secrets import SecretClient

from faultproxy import Mode, TcpProxy
from vaultsync.backends.azure import AzureBackend
from vaultsync.backends.errors import BackendError, Unavailable
from vaultsync.backends.interface import Backend, Credentials
from vaultsync.backends.kube_http import KubeConnection, KubeHttp
from vaultsync.backends.kubernetes import KubernetesBackend
from vaultsync.backends.registry import create_backend

TIMEOUT = 0.5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hashicorp(url: str) -> Backend:
    spec = {"address": url, "auth": {"token": {}}}
    return create_backend("hashicorp", spec, Credentials({"token": "t"}), http_timeout=TIMEOUT)


def _hashicorp_approle(url: str) -> Backend:
    spec = {"address": url, "auth": {"appRole": {"roleId": "r", "secretRef": {"name": "s"}}}}
    return create_backend("hashicorp", spec, Credentials({"secretId": "s"}), http_timeout=TIMEOUT)


def _aws(url: str) -> Backend:
    spec = {"region": "us-east-1", "endpoint": url, "auth": {"accessKey": {}}}
    credentials = Credentials({"accessKeyId": "a", "secretAccessKey": "b"})
    return create_backend("aws", spec, credentials, http_timeout=TIMEOUT)


def _kubernetes(url: str) -> Backend:
    http = KubeHttp(KubeConnection(server=url), timeout=(TIMEOUT, TIMEOUT))
    return KubernetesBackend(http, "ns", http_timeout=TIMEOUT)


class _StaticToken:
    """A bearer token that needs no token endpoint: the vault is the only peer here."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("static", int(time.time()) + 3600)


def _azure(url: str) -> Backend:
    client = SecretClient(
        url.replace("http://", "https://"),
        _StaticToken(),
        verify_challenge_resource=False,
        connection_verify=False,
        retry_total=0,
        connection_timeout=TIMEOUT,
        read_timeout=TIMEOUT,
    )
    return AzureBackend(client)


BACKENDS: dict[str, Callable[[str], Backend]] = {
    "hashicorp": _hashicorp,
    "aws": _aws,
    "kubernetes": _kubernetes,
    "azure": _azure,
}


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    cut = TcpProxy(_closed_port())
    yield cut
    cut.close()


@pytest.mark.parametrize("mode", [Mode.HANG, Mode.REFUSE], ids=["hung", "reset"])
@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_a_hung_or_resetting_vault_is_unavailable(name: str, mode: Mode, proxy: TcpProxy) -> None:
    backend = BACKENDS[name](f"http://{proxy.url_host}")
    with proxy.cut(mode), pytest.raises(Unavailable):
        backend.read("x")
    assert proxy.accepted >= 1, "the client must have reached the proxy"
    backend.close()


def _respond_once(answer: bytes) -> tuple[str, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            listener.settimeout(10)
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", thread


GARBAGE = [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!", id="200-not-json"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", id="200-empty-object"),
    pytest.param(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"cut', id="truncated"),
    pytest.param(b"this is not http\r\n\r\n", id="not-http"),
]


@pytest.mark.parametrize("answer", GARBAGE)
@pytest.mark.parametrize(
    "factory", [_hashicorp, _hashicorp_approle, _aws, _kubernetes], ids=lambda f: f.__name__
)
def test_garbage_answers_are_backend_errors(factory: Callable[[str], Backend], answer: bytes) -> None:
    url, server = _respond_once(answer)
    backend = factory(url)
    try:
        backend.read("x")
    except BackendError:
        pass
    finally:
        backend.close()
        server.join(timeout=10)
