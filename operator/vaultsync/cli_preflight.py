"""Checks ``vaultsync run`` makes before starting kopf, so that a missing namespace, missing CRDs or
missing RBAC is one sentence saying what to do, not a traceback from deep inside the operator.

Out of a cluster the operator runs as the kubeconfig's user; in a cluster the chart creates all
of this. The checks ask the apiserver (SelfSubjectAccessReview), never guess from names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vaultsync.api.names import GROUP, PLURALS

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


def check(api_client: Any, operator_namespace: str, watch: Sequence[str]) -> None:
    """Raises PreflightError naming everything that is missing; returns when the operator can start."""
    from kubernetes import client  # noqa: PLC0415
    from kubernetes.client.rest import ApiException  # noqa: PLC0415

    core = client.CoreV1Api(api_client)
    try:
        core.read_namespace(operator_namespace)
    except ApiException as e:
        if e.status == 404:
            raise PreflightError(
                f"namespace {operator_namespace} does not exist: create it "
                f"(`kubectl create namespace {operator_namespace}`) or set VAULTSYNC_NAMESPACE"
            ) from None
        if e.status not in (401, 403):
            raise PreflightError(
                f"the apiserver refused to read namespace {operator_namespace}: {e.reason}"
            ) from None
    except Exception as e:  # connection refused, TLS, DNS: the message names the server
        raise PreflightError(
            f"cannot reach the apiserver of the current kubeconfig: {type(e).__name__}: {e}"
        ) from None
    authorization = client.AuthorizationV1Api(api_client)
    missing = [str(a) for a in required_access(operator_namespace, watch) if not _allowed(authorization, a)]
    if missing:
        raise PreflightError(
            "the current kubeconfig user may not: "
            + "; ".join(missing)
            + ". Grant the rules of the chart's roles (docs/install.md, 'Running out of cluster')"
        )
    extensions = client.ApiextensionsV1Api(api_client)
    names = {item.metadata.name for item in extensions.list_custom_resource_definition().items}
    absent = [f"{plural}.{GROUP}" for plural in CRDS if f"{plural}.{GROUP}" not in names]
    if absent:
        raise PreflightError(
            f"CRDs not installed: {', '.join(absent)}: `kubectl apply --server-side -f crds/`"
        )


def _allowed(authorization: Any, access: Access) -> bool:
    from kubernetes import client  # noqa: PLC0415

    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=access.verb,
                resource=access.resource,
                group=access.group,
                namespace=access.namespace,
                subresource=access.subresource or None,
            )
        )
    )
    return bool(authorization.create_self_subject_access_review(review).status.allowed)
