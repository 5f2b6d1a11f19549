"""Checks ``vaultsync run`` makes before starting kopf, so that a missing namespace, missing CRDs or
missing RBAC is one sentence saying what to do, not a traceback from deep inside the operator.

Out of a cluster the operator runs as the kubeconfig's user; in a cluster the chart creates all
of this. The checks ask the apiserver (SelfSubjectAccessReview), never guess from names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vaultsync.api.names import GROUP, PLURALS
from vaultsync.backends.kube_http import (
    SELF_ACCESS_REVIEWS,
    KubeHttp,
    KubeStatusError,
    KubeUnavailable,
    resource_path,
    review_allows,
    self_access_review,
)

CRDS = PLURALS


class PreflightError(Exception):
    """What is missing, and the command that fixes it."""


@dataclass(frozen=True)
class Access:
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    subresource: str = ""

    def __str__(self) -> str:
        name = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            name += f"/{self.subresource}"
        return f"{self.verb} {name} ({f'namespace {self.namespace}' if self.namespace else 'cluster-wide'})"


def required_access(operator_namespace: str, watch: Sequence[str]) -> list[Access]:
    """The rights the operator uses: the rules of the chart's roles, as one list."""
    scopes: Sequence[str | None] = list(watch) or [None]
    needed = [
        Access("list", "customresourcedefinitions", "apiextensions.k8s.io"),
        Access("list", "namespaces"),
        Access("create", "secrets", namespace=operator_namespace),
    ]
    for scope in scopes:
        for plural in CRDS:
            needed += [Access(verb, plural, GROUP, scope) for verb in ("list", "watch", "patch")]
        needed += [
            Access("patch", "managedsecrets", GROUP, scope, "status"),
            Access("create", "approvalrequests", GROUP, scope),
            Access("create", "events", namespace=scope),
            Access("create", "secrets", namespace=scope),
        ]
    return needed


def check(http: KubeHttp, operator_namespace: str, watch: Sequence[str]) -> None:
    """Raises PreflightError naming everything that is missing; returns when the operator can start."""
    try:
        http.request("GET", resource_path("", "v1", "namespaces", name=operator_namespace))
    except KubeUnavailable as e:  # connection refused, TLS, DNS: the message names the server
        raise PreflightError(
            f"cannot reach the apiserver of the current kubeconfig ({http.connection.server}): {e}"
        ) from None
    except KubeStatusError as e:
        if e.status == 404:
            raise PreflightError(
                f"namespace {operator_namespace} does not exist: create it "
                f"(`kubectl create namespace {operator_namespace}`) or set VAULTSYNC_NAMESPACE"
            ) from None
        if e.status not in (401, 403):
            raise PreflightError(
                f"the apiserver refused to read namespace {operator_namespace}: {e.reason}"
            ) from None
    missing = [str(a) for a in required_access(operator_namespace, watch) if not _allowed(http, a)]
    if missing:
        raise PreflightError(
            "the current kubeconfig user may not: "
            + "; ".join(missing)
            + ". Grant the rules of the chart's roles (docs/install.md, 'Running out of cluster')"
        )
    listed = http.request("GET", resource_path("apiextensions.k8s.io", "v1", "customresourcedefinitions"))
    names = {(item.get("metadata") or {}).get("name") for item in (listed or {}).get("items") or []}
    absent = [f"{plural}.{GROUP}" for plural in CRDS if f"{plural}.{GROUP}" not in names]
    if absent:
        raise PreflightError(
            f"CRDs not installed: {', '.join(absent)}: `kubectl apply --server-side -f crds/`"
        )


def _allowed(http: KubeHttp, access: Access) -> bool:
    attributes = {
        "verb": access.verb,
        "resource": access.resource,
        "group": access.group,
        **({"namespace": access.namespace} if access.namespace else {}),
        **({"subresource": access.subresource} if access.subresource else {}),
    }
    return review_allows(http.request("POST", SELF_ACCESS_REVIEWS, body=self_access_review(attributes)))
