"""Redaction is wired: every value the sync reads or resolves is masked in logs until it goes.

The operator's own parts (resolver, access guard, sync engine) run in this process against the
real apiserver, with the operator's log setup (``install_redaction``). Then real errors that carry
a value are logged the way kopf logs a failed handler (with the exception chain): an HTTP error
whose URL holds a synced value, and the ``requests`` error that quotes a credential token. Both
are masked while the value is held, and the synced one shows again once its ManagedSecret is
released (values are forgotten when they go).
"""

from __future__ import annotations

import http.server
import io
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from e2e.support import Cluster
from operator_kube import operator_http
from vaultsync.backends.errors import BackendError, InvalidConfig
from vaultsync.reconcile.authorship import AUTHOR_ANNOTATION, Author, author_record
from vaultsync.reconcile.targets import ProfileKey
from vaultsync.secrets import redaction
from vaultsync.secrets.redaction import MASK, install_redaction
from vaultsync.sync.access_guard import AccessGuard
from vaultsync.sync.engine import SyncEngine
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.profiles import ProfileResolver, provider_of
from vaultsync.sync.settings import OperatorSettings
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import free_port

pytestmark = pytest.mark.stack

KEY = b"redaction-test-key-0123456789abcdef"
ADMIN = Author("admin", ("system:authenticated", "system:masters"))


class FailingVault(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(500)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def failing_vault() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), FailingVault)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def operator_log() -> Iterator[io.StringIO]:
    """The operator's logging: redaction of every record, captured here."""
    redaction.clear_registered_secrets()
    install_redaction()
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    logger = logging.getLogger("vaultsync.redaction-test")
    logger.addHandler(handler)
    yield captured
    logger.removeHandler(handler)
    redaction.uninstall_redaction()
    redaction.clear_registered_secrets()


def sealed(kind: str, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"namespace": namespace, "name": name, "uid": str(uuid.uuid4()), "generation": 1},
        "spec": spec,
    }
    body["metadata"]["annotations"] = {AUTHOR_ANNOTATION: author_record(KEY, kind, body, ADMIN)}
    return body


def log_failure(error: Exception) -> None:
    """Logs ``error`` as kopf logs a failed handler (message and the whole exception chain)."""
    try:
        raise error
    except Exception:
        logging.getLogger("vaultsync.redaction-test").exception("Handler 'sync' failed with an exception")


def test_values_are_masked_in_logged_errors_while_held_and_forgotten_when_gone(
    kube: KubeControlPlane, crds: None, failing_vault: str, operator_log: io.StringIO
) -> None:
    namespace = f"redact-{uuid.uuid4().hex[:8]}"
    assert kube.kubectl("create", "namespace", namespace).returncode == 0
    cluster = Cluster(kube, namespace)
    value = "v" + uuid.uuid4().hex
    token = "s." + uuid.uuid4().hex + "\n" + uuid.uuid4().hex  # a header cannot hold it
    cluster.secret("source", {"apiKey": value})
    cluster.secret("vault-token", {"token": token})

    api = KubeApi(operator_http(kube))
    settings = OperatorSettings(namespace="vaultsync-system", environ={})
    profiles = ProfileResolver(api, settings, AccessGuard(api.http, KEY))
    engine = SyncEngine(api, profiles, settings, KEY)
    profiles.remember(sealed("VaultProfile", namespace, "here", {"provider": {"kubernetes": {}}}))
    vault = sealed(
        "VaultProfile",
        namespace,
        "vault",
        {
            "provider": {
                "hashicorp": {
                    "address": failing_vault,
                    "mount": "secret",
                    "auth": {"token": {"secretRef": {"name": "vault-token", "key": "token"}}},
                }
            }
        },
    )
    profiles.remember(vault)
    secret = sealed(
        "ManagedSecret",
        namespace,
        "copied",
        {
            "type": "api-key",
            "source": {"vaultProfile": {"name": "here"}, "path": "source"},
            "kubernetesSecrets": [{"name": "copy"}],
        },
    )
    result = engine.sync(secret)
    assert result.status.get("phase") == "Synced", result.status.get("conditions")

    # An HTTP error whose URL carries the synced value, as a vault SDK would raise it.
    try:
        requests.get(f"{failing_vault}/v1/secret/data/{value}", timeout=5).raise_for_status()
    except requests.HTTPError as e:
        log_failure(e)
    # The credential: ``http.client`` quotes the header value it refuses; the backend chains it.
    provider_key, spec = provider_of(vault)
    backend = profiles.backend(ProfileKey(namespace, "vault"), vault, provider_key, spec)
    with pytest.raises(BackendError) as caught:
        backend.read("anything")
    assert isinstance(caught.value, InvalidConfig)
    assert isinstance(caught.value.__cause__, ValueError)
    log_failure(caught.value)

    text = operator_log.getvalue()
    assert "500 Server Error" in text
    assert "Invalid header value" in text
    assert text.count(MASK) >= 2
    assert value not in text, "a synced value reached the log"
    for part in token.split("\n"):
        assert part not in text, "a credential reached the log"

    profiles.ledger.release(f"{namespace}/copied")
    operator_log.truncate(0)
    try:
        requests.get(f"{failing_vault}/v1/secret/data/{value}", timeout=5).raise_for_status()
    except requests.HTTPError as e:
        log_failure(e)
    assert value in operator_log.getvalue(), "a released value must be forgotten (the registry stays bounded)"
