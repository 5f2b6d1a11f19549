"""Every Kubernetes call failure maps to the backend error tree, transport failures included.

The transport cases are real: a loopback port where nothing listens (refused), and a loopback
proxy that accepts and never answers (a hung API server). No server process is needed.
"""

from __future__ import annotations

import socket

import pytest

from faultproxy import TcpProxy
from vaultsync.api.managedsecret import KubernetesSecretTarget
from vaultsync.backends import errors
from vaultsync.backends.errors import BackendError, Unavailable
from vaultsync.backends.kube_http import KubeConnection, KubeHttp, KubeStatusError
from vaultsync.sync import k8s_targets
from vaultsync.sync.kubeapi import (
    KubeApi,
    KubeUnavailable,
    apiserver_unreachable,
    kube_error,
    secret_path,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, errors.NotFound),
        (401, errors.PermissionDenied),
        (403, errors.PermissionDenied),
        (409, errors.Conflict),
        (429, errors.Throttled),
        (400, errors.InvalidConfig),
        (413, errors.InvalidConfig),
        (422, errors.InvalidConfig),
        (500, errors.Unavailable),
        (503, errors.Unavailable),
        (0, errors.Unavailable),
    ],
)
def test_api_refusals_map_to_the_backend_error_tree(status: int, expected: type[BackendError]) -> None:
    error = kube_error(KubeStatusError(status, "x"), "reading Secret a/b")
    assert type(error) is expected
    assert "reading Secret a/b" in str(error)


def test_a_transport_error_that_escaped_a_client_is_unavailable() -> None:
    error = kube_error(ConnectionResetError(104, "reset"), "listing")
    assert isinstance(error, Unavailable)
    assert "ConnectionResetError" in str(error)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kube_at(port: int, timeout: float = 1.0) -> KubeApi:
    connection = KubeConnection(server=f"http://127.0.0.1:{port}")
    return KubeApi(KubeHttp(connection, timeout=(timeout, timeout)))


def test_refused_api_server_is_unavailable_both_as_a_status_error_and_a_backend_error() -> None:
    kube = _kube_at(_closed_port())
    with pytest.raises(KubeUnavailable) as raised:
        kube.get(secret_path("ns", "s"))
    assert isinstance(raised.value, KubeStatusError)
    assert isinstance(raised.value, Unavailable)
    assert raised.value.status == 503
    assert "API server unreachable" in str(raised.value)
    with pytest.raises(KubeUnavailable):
        kube.get_object("managedsecrets", "ns", "s")


def test_refused_api_server_makes_secret_targets_unavailable_not_a_traceback() -> None:
    kube = _kube_at(_closed_port())
    with pytest.raises(Unavailable) as raised:
        k8s_targets.read_target(kube, "ns", "s")
    assert "reading Secret ns/s" in str(raised.value)
    assert not isinstance(raised.value, KubeStatusError)
    with pytest.raises(Unavailable):
        k8s_targets.write_target(
            kube,
            "ns",
            "s",
            secret_type="key-value",
            document={"a": "b"},
            owner="ns/m",
            expected=None,
            adopt=False,
            spec=KubernetesSecretTarget(name="s"),
        )


def test_hung_api_server_times_out_as_unavailable() -> None:
    proxy = TcpProxy(_closed_port())
    proxy.hang()
    try:
        kube = _kube_at(proxy.port, timeout=0.5)
        with pytest.raises(Unavailable) as raised:
            k8s_targets.read_target(kube, "ns", "s")
        assert "Timeout" in str(raised.value)
        assert proxy.accepted >= 1
    finally:
        proxy.close()


def test_a_sync_during_an_api_server_outage_ends_failed_and_retried_not_raised() -> None:
    from vaultsync.sync.access_guard import AccessGuard  # noqa: PLC0415
    from vaultsync.sync.engine import SyncEngine  # noqa: PLC0415
    from vaultsync.sync.profiles import ProfileResolver  # noqa: PLC0415
    from vaultsync.sync.settings import OperatorSettings  # noqa: PLC0415

    kube = _kube_at(_closed_port())
    settings = OperatorSettings(environ={})
    key = b"k" * 32
    profiles = ProfileResolver(kube, settings, AccessGuard(kube.http, key))
    engine = SyncEngine(kube, profiles, settings, key)
    body = {
        "metadata": {"namespace": "team", "name": "db", "generation": 1},
        "spec": {
            "type": "key-value",
            "source": {"vaultProfile": {"name": "bao"}, "path": "db"},
            "kubernetesSecrets": [{"name": "db"}],
        },
    }
    result = engine.sync(body)
    assert result.failed
    assert result.status["phase"] == "Failed"
    assert "unreachable" in str(result.status)


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (KubeStatusError(503, "x"), True),
        (KubeStatusError(500, "x"), True),
        (KubeStatusError(429, "x"), True),
        (KubeStatusError(404, "x"), False),
        (KubeStatusError(403, "x"), False),
        (KubeStatusError(409, "x"), False),
        (KubeStatusError(422, "x"), False),
        (KubeUnavailable("PATCH /x", ConnectionRefusedError()), True),
        (errors.Conflict("x"), False),
    ],
)
def test_only_an_unreachable_api_server_makes_secrets_wait_for_it(
    error: Exception, unreachable: bool
) -> None:
    assert apiserver_unreachable(error) is unreachable


def test_readiness_of_an_api_server_that_refuses_or_hangs_is_false() -> None:
    assert _kube_at(_closed_port()).ready() is False
    proxy = TcpProxy(_closed_port())
    proxy.hang()
    try:
        assert _kube_at(proxy.port).ready() is False
        assert proxy.accepted >= 1
    finally:
        proxy.close()
