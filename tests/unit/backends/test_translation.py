"""SDK errors become the backend error tree at the edge, without provider text or values."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import urllib3
from azure.core import exceptions as azure_errors
from botocore.stub import Stubber

from vaultsync.backends import azure, hashicorp_http
from vaultsync.backends.aws import AwsBackend
from vaultsync.backends.errors import (
    BackendError,
    Conflict,
    InvalidConfig,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
)
from vaultsync.backends.interface import CallCounter, Credentials
from vaultsync.backends.kube_http import KubeConnection, KubeHttp, KubeStatusError
from vaultsync.backends.kubernetes import KubernetesBackend
from vaultsync.backends.registry import create_backend
from vaultsync.backends.retry import RetryPolicy

LEAK = "hunter2-must-not-leak"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _response(status: int, body: str, headers: dict[str, str] | None = None) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(
        body=body.encode(), status=status, headers=headers or {}, preload_content=True
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        pytest.param(404, "", {}, NotFound, id="404"),
        pytest.param(403, f'{{"errors":["permission denied {LEAK}"]}}', {}, PermissionDenied, id="403"),
        pytest.param(429, "", {"Retry-After": "3"}, Throttled, id="429"),
        pytest.param(400, "check-and-set parameter did not match", {}, Conflict, id="cas"),
        pytest.param(400, f"bad request {LEAK}", {}, InvalidConfig, id="400"),
        pytest.param(500, LEAK, {}, Unavailable, id="500"),
        pytest.param(503, "sealed", {}, Unavailable, id="503-sealed"),
    ],
)
def test_vault_status_codes(
    status: int, body: str, headers: dict[str, str], error: type[BackendError]
) -> None:
    translated = hashicorp_http._error_for(_response(status, body, headers), "GET secret/data/x", "read on x")
    assert type(translated) is error
    assert LEAK not in str(translated)
    if isinstance(translated, Throttled):
        assert translated.retry_after == 3.0
    if isinstance(translated, PermissionDenied):
        assert translated.missing == ["read on x"]


def test_a_ca_bundle_that_is_not_pem_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidConfig) as raised:
        create_backend(
            "hashicorp",
            {"address": f"https://127.0.0.1:{_closed_port()}", "auth": {"token": {}}},
            Credentials({"token": "t", "caBundle": f"not a certificate {LEAK}"}),
        )
    assert str(raised.value) == "caBundle: not a PEM certificate bundle"


def test_unreachable_vault_is_unavailable() -> None:
    backend = create_backend(
        "hashicorp",
        {"address": f"http://127.0.0.1:{_closed_port()}", "auth": {"token": {}}},
        Credentials({"token": LEAK}),
        http_timeout=1,
    )
    with pytest.raises(Unavailable) as raised:
        backend.read("x")
    assert LEAK not in str(raised.value)


def _stubbed_aws() -> tuple[AwsBackend, Stubber]:
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    return AwsBackend(client, retry=RetryPolicy(attempts=3, base_delay=0.001)), Stubber(client)


@pytest.mark.parametrize(
    ("code", "status", "error", "missing"),
    [
        pytest.param("ResourceNotFoundException", 400, NotFound, [], id="not-found"),
        pytest.param(
            "AccessDeniedException", 400, PermissionDenied, ["secretsmanager:DescribeSecret"], id="denied"
        ),
        pytest.param("InternalServiceError", 500, Unavailable, [], id="internal"),
        pytest.param("InvalidParameterException", 400, InvalidConfig, [], id="invalid-parameter"),
    ],
)
def test_aws_error_codes(code: str, status: int, error: type[BackendError], missing: list[str]) -> None:
    backend, stubber = _stubbed_aws()
    stubber.add_client_error("describe_secret", code, f"message with {LEAK}", status)
    with stubber, pytest.raises(error) as raised:
        backend.read("team/db")
    assert LEAK not in str(raised.value)
    if missing:
        assert isinstance(raised.value, PermissionDenied)
        assert raised.value.missing == missing


def test_aws_throttling_is_retried_then_bounded() -> None:
    backend, stubber = _stubbed_aws()
    for _ in range(3):
        stubber.add_client_error("list_secrets", "ThrottlingException", "slow down", 400)
    with stubber, pytest.raises(Throttled):
        backend.list_changes(None)
    assert backend.calls.snapshot() == {"ListSecrets": 3}

    backend, stubber = _stubbed_aws()
    stubber.add_client_error("list_secrets", "ThrottlingException", "slow down", 400)
    stubber.add_response(
        "list_secrets", {"SecretList": [{"Name": "a", "SecretVersionsToStages": {"0" * 32: ["AWSCURRENT"]}}]}
    )
    with stubber:
        assert backend.list_changes(None).changed == {"a"}
    assert backend.calls.snapshot() == {"ListSecrets": 2}


def test_unreachable_aws_endpoint_is_unavailable() -> None:
    backend = create_backend(
        "aws",
        {"region": "us-east-1", "endpoint": f"http://127.0.0.1:{_closed_port()}", "auth": {"accessKey": {}}},
        Credentials({"accessKeyId": "a", "secretAccessKey": "b"}),
        http_timeout=1,
    )
    with pytest.raises(Unavailable):
        backend.read("x")


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        pytest.param(404, {}, NotFound, id="404"),
        pytest.param(403, {}, PermissionDenied, id="403"),
        pytest.param(409, {}, Conflict, id="409"),
        pytest.param(422, {}, InvalidConfig, id="422"),
        pytest.param(429, {"Retry-After": "2"}, Throttled, id="429"),
        pytest.param(500, {}, Unavailable, id="500"),
    ],
)
def test_kubernetes_status_codes(status: int, headers: dict[str, str], error: type[BackendError]) -> None:
    backend = KubernetesBackend(KubeHttp(KubeConnection(server="http://127.0.0.1:1")), "ns")
    exception = KubeStatusError(status, f"reason {LEAK}", headers)
    translated = backend._translate(exception, "create", "s")
    assert type(translated) is error
    assert LEAK not in str(translated)
    if isinstance(translated, PermissionDenied):
        assert translated.missing == ["create secrets in namespace ns"]


def _http_error(status: int, message: str) -> azure_errors.HttpResponseError:
    error = azure_errors.HttpResponseError(message=message)
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(azure_errors.ResourceNotFoundError(LEAK), NotFound, id="not-found"),
        pytest.param(azure_errors.ClientAuthenticationError(LEAK), PermissionDenied, id="auth"),
        pytest.param(azure_errors.ResourceExistsError(LEAK), Conflict, id="exists"),
        pytest.param(azure_errors.ServiceRequestError(LEAK), Unavailable, id="unreachable"),
        pytest.param(_http_error(429, LEAK), Throttled, id="429"),
        pytest.param(_http_error(403, LEAK), PermissionDenied, id="403"),
        pytest.param(_http_error(503, LEAK), Unavailable, id="503"),
    ],
)
def test_azure_errors(error: Exception, expected: type[BackendError]) -> None:
    translated = azure._translate(error, "get", "name")
    assert type(translated) is expected
    assert LEAK not in str(translated)
    if isinstance(translated, PermissionDenied):  # a refused credential is no missing permission
        refused = isinstance(error, azure_errors.ClientAuthenticationError)
        assert translated.missing == ([] if refused else ["secrets/get"])


def test_calls_counter_is_safe_across_threads() -> None:
    counter = CallCounter()

    def bump(_: Any) -> None:
        for _ in range(1000):
            counter.add("op")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(8)))
    assert counter.snapshot() == {"op": 8000}
