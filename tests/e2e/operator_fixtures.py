"""The operator as a real process against the real stack: one per test session.

A plugin of the root conftest (``pytest_plugins``), so the end-to-end and the docs suites share
one operator, one webhook certificate and one set of CRDs, whichever runs first. The webhook
configurations themselves are registered per module (:func:`registered`), never for the session.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaultsync_devstack import Stack
from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.process import ManagedProcess, current_run, free_port, port_open
from vaultsync_devstack.webhook import (
    WebhookServing,
    issue_serving_certificate,
    register_webhooks,
    unregister_webhooks,
)

REPO = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "vaultsync-system"
METRICS_PORT = free_port()
GROUP = "vaultsync.io"
_SESSION_OPERATORS: list[ManagedProcess] = []
"""The session operator once started: :func:`session_operator_paused` stops it if it runs."""


@pytest.fixture(scope="session")
def crds(kube: KubeControlPlane) -> None:
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    assert applied.returncode == 0, applied.stderr
    for plural in ("vaultprofiles", "managedsecrets", "approvalrequests"):
        kube.wait_established(f"{plural}.{GROUP}")


@pytest.fixture(scope="session")
def webhook_serving(stack: Stack, crds: None) -> WebhookServing:
    """Where the operator serves its admission webhooks, with a CA of their own."""
    return issue_serving_certificate(stack.state / "operator" / "webhook-tls", free_port())


def registered(kube: KubeControlPlane, serving: WebhookServing) -> Iterator[WebhookServing]:
    """The webhook configurations, registered for one module at a time and removed after it.

    The ApprovalRequest webhooks fail closed, so they must not outlive the modules that run the
    operator: any suite may run before, between or after these (the docs suite registers them
    the same way), and none of them sees a webhook it did not ask for.
    """
    register_webhooks(kube, serving)
    yield serving
    unregister_webhooks(kube)


@pytest.fixture(scope="session")
def operator(
    stack: Stack, kube: KubeControlPlane, crds: None, webhook_serving: WebhookServing
) -> Iterator[ManagedProcess]:
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    log = stack.state / "operator" / "logs" / "operator.log"
    process = ManagedProcess(
        name="vaultsync-operator",
        command=[sys.executable, "-m", "vaultsync", "run", "--standalone"],
        log_path=log,
        ready=lambda: "vaultsync started" in current_run(log) and port_open(webhook_serving.port),
        env={
            "KUBECONFIG": str(kube.kubeconfig),
            "VAULTSYNC_NAMESPACE": OPERATOR_NAMESPACE,
            "VAULTSYNC_MIN_REFRESH_SECONDS": "1",
            "VAULTSYNC_HTTP_TIMEOUT": "3",
            "VAULTSYNC_METRICS_PORT": str(METRICS_PORT),
            "VAULTSYNC_METRICS_ADDRESS": "127.0.0.1",
            "VAULTSYNC_WEBHOOK_ADDRESS": "127.0.0.1",
            # Released by the first retry (kopf retries a failed deletion every 10 s) instead of the second.
            "VAULTSYNC_ORPHAN_RELEASE_SECONDS": "2",
            # A rejected delete asks again (after a spec change) within 3 s instead of 30 s.
            "VAULTSYNC_REJECTED_DELETE_RETRY_SECONDS": "3",
            **webhook_serving.env,
        },
        start_timeout=60,
    )
    stack.attached.append(process)
    _SESSION_OPERATORS.append(process)
    process.start()
    yield process
    process.stop()
    _SESSION_OPERATORS.remove(process)


@pytest.fixture(scope="module")
def session_operator_paused() -> Iterator[None]:
    """Stops the session operator, if it runs, until the module ends.

    It watches every namespace, so a module that runs operators of its own (chaos, failover)
    would otherwise have two installations syncing the same ManagedSecrets: the test would see
    the session operator's work as its own, and the two fight over versions in status.
    """
    running = [process for process in _SESSION_OPERATORS if process.running]
    for process in running:
        process.stop()
    try:
        yield
    finally:
        for process in running:
            process.start()
