"""Vault/OpenBao-specific cases: AppRole and Kubernetes login, capabilities diagnosis, listing."""

from __future__ import annotations

import base64
import ssl
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
import yaml

from faultproxy import TcpProxy
from vaultsync.backends.errors import InvalidConfig, NotFound, PermissionDenied
from vaultsync.backends.hashicorp import HashicorpBackend
from vaultsync.backends.interface import Credentials
from vaultsync.backends.registry import create_backend
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, free_port, venv_binary
from vaultsync_devstack.vaults import OpenBao

pytestmark = pytest.mark.stack

OWNER = "team-a/app"


@pytest.fixture
def root(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.address, token=openbao.root_token, timeout=5)


@pytest.fixture
def prefix() -> str:
    return f"hc-{uuid.uuid4().hex[:10]}"


def _backend(
    openbao: OpenBao, prefix: str, auth: dict[str, object], credentials: dict[str, str]
) -> HashicorpBackend:
    spec = {"address": openbao.address, "mount": "secret", "pathPrefix": prefix, "auth": auth}
    backend = create_backend("hashicorp", spec, Credentials(credentials), http_timeout=2)
    assert isinstance(backend, HashicorpBackend)
    return backend


def _approle(root: hvac.Client, name: str, policy: str) -> tuple[str, str]:
    root.sys.create_or_update_policy(name=name, policy=policy)
    root.auth.approle.create_or_update_approle(role_name=name, token_policies=[name], token_ttl="10m")
    role_id = root.auth.approle.read_role_id(role_name=name)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(role_name=name)["data"]["secret_id"]
    return role_id, secret_id


@pytest.fixture
def approle_backend(openbao: OpenBao, root: hvac.Client, prefix: str) -> Iterator[HashicorpBackend]:
    policy = f"""
path "secret/data/{prefix}/*" {{ capabilities = ["create", "read", "update", "delete"] }}
path "secret/metadata/{prefix}/*" {{ capabilities = ["create", "read", "update", "delete", "list"] }}
path "secret/metadata/{prefix}" {{ capabilities = ["list"] }}
path "secret/undelete/{prefix}/*" {{ capabilities = ["update"] }}
"""
    role_id, secret_id = _approle(root, f"full-{prefix}", policy)
    backend = _backend(openbao, prefix, {"appRole": {"roleId": role_id}}, {"secretId": secret_id})
    yield backend
    backend.close()


def test_approle_login_round_trip_and_full_permissions(approle_backend: HashicorpBackend) -> None:
    version = approle_backend.write("db", "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert approle_backend.read("db").version == version
    assert approle_backend.calls.snapshot()["login"] == 1
    report = approle_backend.verify_permissions()
    assert report.ok, report.missing


def test_restricted_policy_names_the_missing_capabilities(
    openbao: OpenBao, root: hvac.Client, prefix: str
) -> None:
    policy = f'path "secret/data/{prefix}/*" {{ capabilities = ["read"] }}'
    role_id, secret_id = _approle(root, f"ro-{prefix}", policy)
    backend = _backend(openbao, prefix, {"appRole": {"roleId": role_id}}, {"secretId": secret_id})
    probe = f"secret/data/{prefix}/vaultsync-permission-probe"
    report = backend.verify_permissions()
    assert not report.ok
    assert f"read on {probe}" not in report.missing
    assert {f"create on {probe}", f"update on {probe}", f"delete on {probe}"} <= set(report.missing)
    assert f"list on secret/metadata/{prefix}" in report.missing
    with pytest.raises(PermissionDenied) as denied:
        backend.write("db", "generic", {"value": "v"}, owner=OWNER, expected_version=None)
    assert denied.value.missing == [f"read on secret/metadata/{prefix}/db"]
    backend.close()


def test_bad_approle_secret_id_is_permission_denied(openbao: OpenBao, root: hvac.Client, prefix: str) -> None:
    role_id, _ = _approle(root, f"bad-{prefix}", 'path "secret/*" { capabilities = ["read"] }')
    backend = _backend(openbao, prefix, {"appRole": {"roleId": role_id}}, {"secretId": "not-the-secret-id"})
    with pytest.raises(PermissionDenied) as denied:
        backend.read("x")
    assert "not-the-secret-id" not in str(denied.value)
    backend.close()


def test_listing_without_paths_walks_folders_below_the_prefix(approle_backend: HashicorpBackend) -> None:
    for path in ("a", "team/b", "team/deep/c"):
        approle_backend.write(path, "generic", {"value": path}, owner=OWNER, expected_version=None)
    first = approle_backend.list_changes(None)
    assert first.changed == {"a", "team/b", "team/deep/c"}
    approle_backend.write("team/deep/c", "generic", {"value": "2"}, owner=OWNER, expected_version=None)
    assert approle_backend.list_changes(first.marker).changed == {"team/deep/c"}


@pytest.mark.parametrize(
    ("auth", "credentials"),
    [
        pytest.param({}, {}, id="no-auth"),
        pytest.param({"token": {}}, {}, id="token-without-credential"),
        pytest.param({"appRole": {}}, {"secretId": "s"}, id="approle-without-role-id"),
        pytest.param({"kubernetes": {}}, {}, id="kubernetes-without-role"),
        pytest.param({"token": {}, "appRole": {}}, {"token": "t"}, id="two-methods"),
    ],
)
def test_invalid_auth_is_invalid_config(
    openbao: OpenBao, auth: dict[str, object], credentials: dict[str, str]
) -> None:
    with pytest.raises(InvalidConfig):
        _backend(openbao, "p", auth, credentials)


def test_kubernetes_login_against_the_real_apiserver_token_review(
    openbao: OpenBao, root: hvac.Client, kube: KubeControlPlane, prefix: str
) -> None:
    namespace = f"vault-auth-{uuid.uuid4().hex[:6]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    assert kube.kubectl("create", "serviceaccount", "operator", "-n", namespace).returncode == 0
    binding = kube.kubectl(
        "create",
        "clusterrolebinding",
        f"{namespace}-review",
        "--clusterrole=system:auth-delegator",
        f"--serviceaccount={namespace}:operator",
    )
    assert binding.returncode == 0, binding.stderr
    token = kube.kubectl("create", "token", "operator", "-n", namespace, "--audience=vault")
    assert token.returncode == 0, token.stderr
    ca_data = yaml.safe_load(kube.kubeconfig.read_text())["clusters"][0]["cluster"][
        "certificate-authority-data"
    ]

    mount = f"k8s-{prefix}"
    root.sys.enable_auth_method("kubernetes", path=mount)
    root.write(
        f"auth/{mount}/config",
        kubernetes_host=kube.server,
        kubernetes_ca_cert=base64.b64decode(ca_data).decode(),
    )
    root.sys.create_or_update_policy(
        name=mount, policy='path "secret/*" { capabilities = ["create", "read", "update", "list"] }'
    )
    root.write(
        f"auth/{mount}/role/operator",
        bound_service_account_names="operator",
        bound_service_account_namespaces=namespace,
        audience="vault",
        token_policies=mount,
    )
    backend = _backend(
        openbao,
        prefix,
        {"kubernetes": {"role": "operator", "mountPath": mount}},
        {"jwt": token.stdout.strip()},
    )
    version = backend.write("k", "generic", {"value": "via-k8s"}, owner=OWNER, expected_version=None)
    assert backend.read("k").version == version
    backend.close()

    intruder = _backend(
        openbao,
        prefix,
        {"kubernetes": {"role": "operator", "mountPath": mount}},
        {"jwt": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
    )
    with pytest.raises(PermissionDenied):
        intruder.read("k")
    intruder.close()


def test_enterprise_namespace_header_reaches_the_namespace(
    openbao: OpenBao, root: hvac.Client, prefix: str
) -> None:
    namespace = f"ns{prefix.replace('-', '')}"
    root.write(f"sys/namespaces/{namespace}")
    in_namespace = hvac.Client(url=openbao.address, token=openbao.root_token, namespace=namespace)
    in_namespace.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    spec = {"address": openbao.address, "namespace": namespace, "auth": {"token": {}}}
    backend = create_backend("hashicorp", spec, Credentials({"token": openbao.root_token}), http_timeout=2)
    backend.write("db", "generic", {"value": "in-namespace"}, owner=OWNER, expected_version=None)
    assert in_namespace.secrets.kv.v2.read_secret_version("db", raise_on_deleted_version=True)["data"][
        "data"
    ] == {"value": "in-namespace"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_version("db", raise_on_deleted_version=True)
    backend.close()


def _health(address: str, ca_file: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=2, context=context) as response:  # noqa: S310
        return bool(response.status == 200)


@pytest.fixture(scope="module")
def tls_openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second OpenBao dev server behind TLS with its own generated CA."""
    state = tmp_path_factory.mktemp("openbao-tls")
    port = free_port()
    address = f"https://127.0.0.1:{port}"
    ca_file = state / "vault-ca.pem"
    process = ManagedProcess(
        name="openbao-tls",
        command=[
            venv_binary("bao"),
            "server",
            "-dev",
            "-dev-tls",
            f"-dev-tls-cert-dir={state}",
            "-dev-root-token-id=tls-root",
            f"-dev-listen-address=127.0.0.1:{port}",
            "-dev-no-store-token",
        ],
        log_path=state / "openbao.log",
        ready=lambda: _health(address, ca_file),
        env={"HOME": str(state)},
    )
    process.start()
    try:
        yield address, ca_file
    finally:
        process.stop()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize(
    ("with_ca", "skip_verify", "outcome"),
    [
        pytest.param(True, False, NotFound, id="ca-bundle-trusted"),
        pytest.param(False, True, NotFound, id="verification-skipped"),
        pytest.param(False, False, InvalidConfig, id="unknown-ca-refused"),
    ],
)
def test_custom_ca_bundle(
    tls_openbao: tuple[str, Path], with_ca: bool, skip_verify: bool, outcome: type[Exception]
) -> None:
    address, ca_file = tls_openbao
    credentials = {"token": "tls-root", **({"caBundle": ca_file.read_text()} if with_ca else {})}
    spec = {"address": address, "tlsSkipVerify": skip_verify, "auth": {"token": {}}}
    backend = create_backend("hashicorp", spec, Credentials(credentials), http_timeout=2)
    with pytest.raises(outcome):
        backend.read("never-written")
    backend.close()


def test_a_proxy_from_the_environment_is_used_and_no_proxy_is_honoured(
    openbao: OpenBao, root: hvac.Client, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment is read once, when the backend is built, not on every call."""
    root.secrets.kv.v2.create_or_update_secret(path=f"{prefix}/db", secret={"v": "1"}, mount_point="secret")
    proxy = TcpProxy(int(openbao.address.rsplit(":", 1)[1]))  # an absolute-form request passes through
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.url_host}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        proxied = _backend(openbao, prefix, {"token": {}}, {"token": openbao.root_token})
        assert proxied.read("db").document == {"v": "1"}
        assert proxy.accepted >= 1
        accepted = proxy.accepted
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = _backend(openbao, prefix, {"token": {}}, {"token": openbao.root_token})
        assert direct.read("db").document == {"v": "1"}
        assert proxy.accepted == accepted
    finally:
        proxy.close()
