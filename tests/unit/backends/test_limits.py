"""The size limits are pure arithmetic over what each target would store."""

from __future__ import annotations

import socket

import pytest
from kubernetes import client

from vaultsync.api.managedsecret import KubernetesSecretTarget
from vaultsync.backends.limits import (
    KUBERNETES_SECRET_BYTES,
    TooLarge,
    check_size,
    json_request_size,
    kubernetes_data_size,
)
from vaultsync.sync import k8s_targets
from vaultsync.sync.kubeapi import KubeApi


def test_the_refusal_names_the_target_the_limit_and_the_size() -> None:
    check_size("prod/db", 65_536, 65_536, "an AWS Secrets Manager secret")
    with pytest.raises(TooLarge) as refused:
        check_size("prod/db", 65_537, 65_536, "an AWS Secrets Manager secret")
    assert str(refused.value) == (
        "prod/db: 65537 bytes exceed the limit of 65536 bytes of an AWS Secrets Manager secret"
    )


def test_kubernetes_counts_keys_and_decoded_values_as_the_api_server_does() -> None:
    assert kubernetes_data_size({"a": b"xyz", "é": b""}) == 1 + 3 + 2


def test_json_requests_count_escaped_bytes() -> None:
    assert json_request_size({"v": "é"}) == len('{"v": "\\u00e9"}')


def test_an_oversized_kubernetes_secret_target_is_refused_without_a_call() -> None:
    with socket.socket() as probe:  # nothing listens: any call would fail as Unavailable instead
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    kube = KubeApi(client.ApiClient(configuration))
    with pytest.raises(TooLarge) as refused:
        k8s_targets.write_target(
            kube,
            "team",
            "big",
            secret_type="key-value",
            document={"v": "x" * KUBERNETES_SECRET_BYTES},
            owner="team/big",
            expected=None,
            adopt=False,
            spec=KubernetesSecretTarget(name="big"),
        )
    assert "Secret team/big" in str(refused.value)
    assert f"{KUBERNETES_SECRET_BYTES + 1} bytes" in str(refused.value)
    assert kube.writes.total() == 0
