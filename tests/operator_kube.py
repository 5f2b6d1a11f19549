"""The operator's own Kubernetes client for a devstack user, for tests that run parts of the
operator in this process (the backend contract, the secret-name index, the redaction test)."""

from __future__ import annotations

from typing import Any

from vaultsync.backends.kube_http import KubeConnection, KubeHttp


def operator_http(kube: Any, user: str = "admin") -> KubeHttp:
    """As ``vaultsync run`` would connect with ``kube``'s kubeconfig of ``user``."""
    return KubeHttp(KubeConnection.from_kubeconfig(str(kube.kubeconfig_for(user))))
