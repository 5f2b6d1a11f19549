"""The operator's own Kubernetes client: where it connects, how it authenticates, what it raises.

Connection details are parsed from real files (kubeconfigs, a service account directory); the
calls go to a loopback HTTP server that answers like the API server does.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vaultsync.backends.errors import InvalidConfig, Unavailable
from vaultsync.backends.kube_http import (
    BearerToken,
    KubeConnection,
    KubeHttp,
    KubeStatusError,
    KubeUnavailable,
    list_pages,
    resource_path,
)

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _kubeconfig(path: Path, *, current: str = "dev", users: dict[str, Any] | None = None) -> Path:
    config = {
        "current-context": current,
        "contexts": [
            {"name": "dev", "context": {"cluster": "c1", "user": "u1", "namespace": "team"}},
            {"name": "ops", "context": {"cluster": "c1", "user": "u2"}},
        ],
        "clusters": [
            {
                "name": "c1",
                "cluster": {
                    "server": "https://127.0.0.1:6443/",
                    "certificate-authority-data": base64.b64encode(PEM.encode()).decode(),
                },
            }
        ],
        "users": [{"name": name, "user": user} for name, user in (users or {"u1": {"token": "t1"}}).items()],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_kubeconfig_gives_server_ca_token_and_namespace_of_its_current_context(tmp_path: Path) -> None:
    connection = KubeConnection.from_kubeconfig(str(_kubeconfig(tmp_path / "config")))
    assert connection.server == "https://127.0.0.1:6443"
    assert connection.ca_data == PEM
    assert connection.token == "t1"
    assert connection.namespace == "team"


def test_a_named_context_and_merged_files_as_kubectl_merges_them(tmp_path: Path) -> None:
    first = _kubeconfig(tmp_path / "a", users={"u1": {"token": "t1"}})
    second = _kubeconfig(
        tmp_path / "b", current="ops", users={"u1": {"token": "other"}, "u2": {"token": "t2"}}
    )
    merged = KubeConnection.from_kubeconfig(f"{first}{os.pathsep}{second}")
    assert merged.token == "t1", "the first file naming a user wins; its current-context too"
    assert KubeConnection.from_kubeconfig(f"{first}{os.pathsep}{second}", "ops").token == "t2"
    with pytest.raises(InvalidConfig, match="no context"):
        KubeConnection.from_kubeconfig(str(first), "absent")


def test_inline_client_certificates_are_written_to_files_only_the_owner_reads(tmp_path: Path) -> None:
    user = {
        "client-certificate-data": base64.b64encode(b"CERT").decode(),
        "client-key-data": base64.b64encode(b"KEY").decode(),
    }
    connection = KubeConnection.from_kubeconfig(str(_kubeconfig(tmp_path / "config", users={"u1": user})))
    assert connection.cert_file
    assert connection.key_file
    assert Path(connection.cert_file).read_bytes() == b"CERT"
    assert Path(connection.key_file).read_bytes() == b"KEY"
    assert Path(connection.key_file).stat().st_mode & 0o077 == 0


def test_relative_file_paths_are_read_from_the_kubeconfig_directory(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    config = _kubeconfig(
        tmp_path / "config", users={"u1": {"client-certificate": "certs/me.crt", "tokenFile": "/abs/t"}}
    )
    connection = KubeConnection.from_kubeconfig(str(config))
    assert connection.cert_file == str(tmp_path / "certs" / "me.crt")
    assert connection.token_file == "/abs/t"


def test_an_unreadable_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="cannot be read"):
        KubeConnection.from_kubeconfig(str(tmp_path / "absent"))


def test_in_a_pod_the_service_account_and_the_service_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "namespace").write_text("vaultsync-system")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert KubeConnection.in_cluster(tmp_path) is None, "outside a pod"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    connection = KubeConnection.in_cluster(tmp_path)
    assert connection is not None
    assert connection.server == "https://[fd00::1]:443"
    assert connection.namespace == "vaultsync-system"
    assert BearerToken(connection).get() == "sa-token"


def test_an_exec_plugin_token_is_used_until_it_expires(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    count = tmp_path / "count"
    plugin.write_text(
        "import json, pathlib\n"
        f"p = pathlib.Path({str(count)!r}); n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print(json.dumps({'kind': 'ExecCredential', 'status': {'token': f'exec-{n}',"
        " 'expirationTimestamp': '2999-01-01T00:00:00Z'}}))\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
        }
    }
    connection = KubeConnection.from_kubeconfig(str(_kubeconfig(tmp_path / "config", users={"u1": user})))
    token = BearerToken(connection)
    assert token.get() == "exec-1"
    assert token.get() == "exec-1", "not run again before its expiry"
    token.expire()
    assert token.get() == "exec-2", "run again after the server refused the token"


def test_resource_paths_of_the_core_group_and_of_named_groups() -> None:
    assert resource_path("", "v1", "secrets", "ns", "a") == "/api/v1/namespaces/ns/secrets/a"
    assert resource_path("", "v1", "secrets") == "/api/v1/secrets"
    assert (
        resource_path("vaultsync.io", "v1alpha1", "managedsecrets", "ns", "m", subresource="status")
        == "/apis/vaultsync.io/v1alpha1/namespaces/ns/managedsecrets/m/status"
    )


class _ApiServer(http.server.BaseHTTPRequestHandler):
    """Accepts only the bearer token in ``valid``; echoes what it was sent."""

    valid: list[str] = []
    seen: list[tuple[str, str, str | None, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.seen.append((self.command, self.path, self.headers.get("Content-Type"), body))
        if self.headers.get("Authorization") != f"Bearer {self.valid[0]}":
            self.send_response(401)
            self.end_headers()
            return
        if self.path.startswith("/api/v1/namespaces/ns/secrets/missing"):
            payload = json.dumps({"kind": "Status", "message": "secret-value-echo"}).encode()
            self.send_response(404)
        elif self.path.startswith("/api/v1/namespaces/paged/secrets"):
            status, answer = _paged(self.path)
            payload = json.dumps(answer).encode()
            self.send_response(status)
        else:
            payload = json.dumps({"metadata": {"resourceVersion": "7"}, "echo": body}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *_: Any) -> None:
        return


def _paged(path: str) -> tuple[int, dict[str, Any]]:
    """A list of Secrets in two pages whose snapshot expires between them, as etcd compaction
    makes the API server answer: ``410 Expired`` with a fresh token for the rest of the list.
    In namespace ``paged``; ``?...continue=stale`` is refused without a fresh token."""
    query = dict(pair.split("=", 1) for pair in path.partition("?")[2].split("&") if pair)
    token = query.get("continue")
    if token is None:
        return 200, {"metadata": {"resourceVersion": "10", "continue": "old"}, "items": [{"n": 1}, {"n": 2}]}
    if token == "old":
        expired = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
        return 410, {**expired, "metadata": {"continue": "fresh"}}
    if token == "fresh":
        return 200, {"metadata": {"resourceVersion": "25"}, "items": [{"n": 3}]}
    return 410, {"kind": "Status", "code": 410, "reason": "Expired", "metadata": {}}


@pytest.fixture
def api_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ApiServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_rotated_token_file_is_read_again_when_the_server_refuses_the_old_one(
    api_server: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first")
    _ApiServer.valid[:] = ["first"]
    client = KubeHttp(KubeConnection(server=api_server, token_file=str(token_file)))
    assert client.get("/api/v1/namespaces/ns/secrets/a")["metadata"]["resourceVersion"] == "7"
    token_file.write_text("second")  # the kubelet rotated it
    _ApiServer.valid[:] = ["second"]
    assert client.get("/api/v1/namespaces/ns/secrets/a")["metadata"]["resourceVersion"] == "7"
    _ApiServer.valid[:] = ["never"]
    with pytest.raises(KubeStatusError) as refused:
        client.get("/api/v1/namespaces/ns/secrets/a")
    assert refused.value.status == 401


def test_bodies_are_json_and_errors_never_carry_the_answer(api_server: str) -> None:
    _ApiServer.valid[:] = ["t"]
    _ApiServer.seen.clear()
    client = KubeHttp(KubeConnection(server=api_server, token="t"))
    answer = client.request(
        "PATCH",
        "/apis/g/v1/namespaces/ns/things/x/status",
        body={"status": {"a": 1}},
        content_type="application/merge-patch+json",
        query={"fieldManager": "vaultsync"},
    )
    assert json.loads(answer["echo"]) == {"status": {"a": 1}}
    assert _ApiServer.seen[-1][:3] == (
        "PATCH",
        "/apis/g/v1/namespaces/ns/things/x/status?fieldManager=vaultsync",
        "application/merge-patch+json",
    )
    with pytest.raises(KubeStatusError) as missing:
        client.get("/api/v1/namespaces/ns/secrets/missing")
    assert missing.value.status == 404
    assert "secret-value-echo" not in str(missing.value)


def test_a_list_whose_snapshot_expired_goes_on_with_the_token_of_the_refusal(api_server: str) -> None:
    _ApiServer.valid[:] = ["t"]
    client = KubeHttp(KubeConnection(server=api_server, token="t"))
    pages = list(list_pages(client, "/api/v1/namespaces/paged/secrets", page_size=2))
    assert [item["n"] for page in pages for item in page["items"]] == [1, 2, 3]
    assert [page["metadata"]["resourceVersion"] for page in pages] == ["10", "25"]
    with pytest.raises(KubeStatusError) as refused:  # a refusal without a fresh token ends the list
        client.request("GET", "/api/v1/namespaces/paged/secrets", query=[("continue", "stale")])
    assert (refused.value.status, refused.value.details["reason"]) == (410, "Expired")
    assert "too old" not in str(refused.value.details)


def test_a_server_that_is_not_there_is_unavailable() -> None:
    client = KubeHttp(KubeConnection(server="http://127.0.0.1:1"), timeout=(1.0, 1.0))
    with pytest.raises(KubeUnavailable) as raised:
        client.get("/readyz")
    assert isinstance(raised.value, Unavailable)
    assert raised.value.status == 503


def test_the_operator_process_never_loads_the_kubernetes_package() -> None:
    """kopf imports it when installed (the CLI needs it): about 55 MiB the operator does not use."""
    code = (
        "import sys\n"
        "from vaultsync.operator_main import keep_out_kubernetes_client\n"
        "keep_out_kubernetes_client()\n"
        "import kopf, vaultsync.handlers\n"
        "loaded = [m for m, v in sys.modules.items() if v is not None and m.split('.')[0] == 'kubernetes']\n"
        "print(len(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"
