"""The operator's admission webhooks, registered against the local apiserver.

In a cluster the Helm chart registers them (``charts/vaultsync/templates/webhook.yaml``); on
the local stack the operator runs as a process on this host, so the configurations point at
``https://127.0.0.1:<port>/<handler id>`` through ``clientConfig.url`` and trust a CA made
here. The ApprovalRequest webhooks fail closed; the VaultProfile and ManagedSecret ones (who
changed a spec, and the namespace boundary, both checked again at sync time) fail open so that
editing and syncing go on when the operator is down.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultsync_devstack.kube import KubeControlPlane
from vaultsync_devstack.pki import CertificateAuthority
from vaultsync_devstack.process import free_port

CONFIGURATION_NAME = "vaultsync-devstack"
APPROVAL_RULE = {
    "apiGroups": ["vaultsync.io"],
    "apiVersions": ["v1alpha1"],
    "resources": ["approvalrequests"],
    "operations": ["CREATE", "UPDATE"],
    "scope": "Namespaced",
}
MANAGED_SECRET_RULE = {**APPROVAL_RULE, "resources": ["managedsecrets"]}
VAULT_PROFILE_RULE = {**APPROVAL_RULE, "resources": ["vaultprofiles"]}
SPEC_WEBHOOKS = (("managedsecret", MANAGED_SECRET_RULE), ("vaultprofile", VAULT_PROFILE_RULE))
"""Author records and namespace-boundary checks; they fail open (the sync checks again)."""


@dataclass(frozen=True)
class WebhookServing:
    """Where the operator serves its webhooks and the certificate it serves them with."""

    port: int
    cert_dir: Path
    """Holds ``tls.crt``, ``tls.key`` and ``ca.crt`` (the layout the chart mounts)."""

    @property
    def env(self) -> dict[str, str]:
        return {"VAULTSYNC_WEBHOOK_PORT": str(self.port), "VAULTSYNC_WEBHOOK_CERT_DIR": str(self.cert_dir)}

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode((self.cert_dir / "ca.crt").read_bytes()).decode()


def issue_serving_certificate(cert_dir: Path, port: int) -> WebhookServing:
    """A CA of its own and a serving certificate for 127.0.0.1, in ``cert_dir``."""
    ca = CertificateAuthority(cert_dir, name="vaultsync-webhook-ca")
    ca.issue("tls", "127.0.0.1", server_hosts=("127.0.0.1", "localhost"))
    return WebhookServing(port, cert_dir)


def _webhook(
    name: str,
    url: str,
    ca_bundle: str,
    rule: dict[str, Any],
    failure_policy: str,
    *,
    namespaces: dict[str, Any] | None = None,
) -> dict[str, Any]:
    scope = {"namespaceSelector": namespaces} if namespaces is not None else {}
    return {
        **scope,
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": failure_policy,
        "timeoutSeconds": 10,
        "matchPolicy": "Equivalent",
        "clientConfig": {"url": url, "caBundle": ca_bundle},
        "rules": [rule],
    }


def configurations(
    serving: WebhookServing, port: int | None = None, namespaces: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The Mutating- and ValidatingWebhookConfiguration (``port`` overrides the serving port).

    ``namespaces`` is a label selector that limits them to some namespaces (a test session's own),
    so the fail-closed ApprovalRequest webhooks never refuse requests elsewhere.
    """
    base = f"https://127.0.0.1:{port or serving.port}"
    ca = serving.ca_bundle
    meta = {"name": CONFIGURATION_NAME, "labels": {"app.kubernetes.io/managed-by": "vaultsync-devstack"}}
    mutating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": meta,
        "webhooks": [
            {
                **_webhook(
                    "mutate.approvalrequests.vaultsync.io",
                    f"{base}/mutate-approvalrequest",
                    ca,
                    APPROVAL_RULE,
                    "Fail",
                    namespaces=namespaces,
                ),
                "reinvocationPolicy": "Never",
            },
            {
                **_webhook(
                    "mutate.managedsecrets.vaultsync.io",
                    f"{base}/mutate-managedsecret",
                    ca,
                    MANAGED_SECRET_RULE,
                    "Ignore",
                    namespaces=namespaces,
                ),
                "reinvocationPolicy": "Never",
            },
            *(
                {
                    **_webhook(
                        f"author.{kind}s.vaultsync.io",
                        f"{base}/author-{kind}",
                        ca,
                        rule,
                        "Ignore",
                        namespaces=namespaces,
                    ),
                    "reinvocationPolicy": "Never",
                }
                for kind, rule in SPEC_WEBHOOKS
            ),
        ],
    }
    validating = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": meta,
        "webhooks": [
            _webhook(
                "validate.approvalrequests.vaultsync.io",
                f"{base}/validate-approvalrequest",
                ca,
                APPROVAL_RULE,
                "Fail",
                namespaces=namespaces,
            ),
            *(
                _webhook(
                    f"validate.{kind}s.vaultsync.io",
                    f"{base}/validate-{kind}",
                    ca,
                    rule,
                    "Ignore",
                    namespaces=namespaces,
                )
                for kind, rule in SPEC_WEBHOOKS
            ),
        ],
    }
    return [mutating, validating]


def register_webhooks(
    kube: KubeControlPlane,
    serving: WebhookServing,
    port: int | None = None,
    namespaces: dict[str, Any] | None = None,
) -> None:
    """Creates or replaces both configurations; ``port`` points them elsewhere (e.g. at nothing)."""
    items = configurations(serving, port, namespaces)
    document = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    applied = kube.kubectl("apply", "-f", "-", input=document)
    if applied.returncode != 0:
        raise RuntimeError(f"registering the admission webhooks failed: {applied.stderr.strip()}")


def serve_webhooks(
    kube: KubeControlPlane, state: Path, namespaces: dict[str, Any] | None = None
) -> WebhookServing:
    """Certificate, free port and registration in one call: pass ``.env`` to the operator process."""
    serving = issue_serving_certificate(state / "operator" / "webhook-tls", free_port())
    register_webhooks(kube, serving, namespaces=namespaces)
    return serving


def unregister_webhooks(kube: KubeControlPlane) -> None:
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        kube.kubectl("delete", kind, CONFIGURATION_NAME, "--ignore-not-found")
