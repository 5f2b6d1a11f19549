"""Admission webhooks served by the operator: real identities on decisions and on spec changes.

``mutate-approvalrequest`` stamps ``user``, ``groups`` and ``at`` of every added decision from
the API request's authenticated ``userInfo`` (whatever the client wrote there);
``validate-approvalrequest`` refuses decisions from non-approvers, self-approval, edits of
earlier decisions or of the request itself, and decisions on closed requests;
``mutate-managedsecret`` records who last changed a ManagedSecret's spec (``requestedBy``), and adds
the finalizer at creation.
The handler ids are the URL paths the Helm chart and the local stack register. kopf does
not manage the webhook configurations (``settings.admission.managed`` stays unset).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf

from vaultsync.api.codec import ModelError
from vaultsync.api.names import GROUP, VERSION
from vaultsync.approvals.admission import (
    LAST_MODIFIED_BY,
    admission_problem,
    stamp_decisions,
    stamp_last_modified_by,
)
from vaultsync.approvals.policy import ApprovalPolicy, Approver
from vaultsync.backends.kube_http import KubeStatusError, username
from vaultsync.handlers.approvalrequest import policy_for_secret
from vaultsync.handlers.runtime import runtime
from vaultsync.sync.profiles import ProfileSpecUnfit

PORT_ENV, CERT_DIR_ENV = "VAULTSYNC_WEBHOOK_PORT", "VAULTSYNC_WEBHOOK_CERT_DIR"
ADDRESS_ENV = "VAULTSYNC_WEBHOOK_ADDRESS"
DEFAULT_PORT = 9443


def webhook_server(env: Mapping[str, str] | None = None) -> kopf.WebhookServer:
    """The HTTPS server of the admission webhooks, from the chart's environment.

    Without a certificate directory it serves plain HTTP on loopback only (on a free port
    unless one is set): nothing outside the host can call it, and decisions are then not
    checked unless a webhook is registered.
    """
    env = os.environ if env is None else env
    port = int(env[PORT_ENV]) if env.get(PORT_ENV) else None
    cert_dir = env.get(CERT_DIR_ENV)
    if not cert_dir:
        logging.getLogger(__name__).warning(
            "%s is not set: admission webhooks serve plain HTTP on 127.0.0.1 only", CERT_DIR_ENV
        )
        return kopf.WebhookServer(addr="127.0.0.1", port=port, insecure=True)
    directory = Path(cert_dir)
    return kopf.WebhookServer(
        addr=env.get(ADDRESS_ENV) or "0.0.0.0",  # noqa: S104 - the apiserver reaches the pod through its Service
        port=port or DEFAULT_PORT,
        certfile=str(directory / "tls.crt"),
        pkeyfile=str(directory / "tls.key"),
        cafile=str(directory / "ca.crt") if (directory / "ca.crt").exists() else None,
    )


def _who(userinfo: kopf.UserInfo) -> Approver:
    return Approver(str(userinfo.get("username") or ""), tuple(userinfo.get("groups") or ()))


_OPERATOR_USER: list[str | None] = []
"""The operator's own user name, asked once (a one-element cache)."""


def _operator_user() -> str | None:
    """Who the operator is to the apiserver (SelfSubjectReview); ``None`` when it cannot tell."""
    if not _OPERATOR_USER:
        try:
            _OPERATOR_USER.append(username(runtime().kube.http))
        except (KubeStatusError, KeyError, TypeError):
            logging.getLogger(__name__).warning(
                "cannot tell the operator's own user (SelfSubjectReview): anyone allowed by RBAC "
                "may create ApprovalRequests"
            )
            return None
    return _OPERATOR_USER[0]


def _policy_for(namespace: str, managed_secret: str) -> ApprovalPolicy:
    """The combined policy of the ManagedSecret's profiles, read now (blocking)."""
    body = runtime().kube.get_object("managedsecrets", namespace, managed_secret)
    if body is None:
        return ApprovalPolicy()
    try:
        spec = runtime().engine.specs.parse(body)
    except ModelError:
        return ApprovalPolicy()  # nobody decides for a spec the operator cannot read: it pushes nothing
    try:
        return policy_for_secret(namespace, spec)
    except ProfileSpecUnfit:
        return ApprovalPolicy()  # nor for a profile it cannot read: nothing syncs through it


@kopf.on.mutate(GROUP, VERSION, "approvalrequests", id="mutate-approvalrequest", operations=["UPDATE"])
def stamp_decision_identity(
    userinfo: kopf.UserInfo, patch: kopf.Patch, body: kopf.Body, old: kopf.Body | None = None, **_: Any
) -> None:
    key = runtime().engine.hmac_key  # the seal makes a decision count (approvals.integrity)
    decisions = stamp_decisions(old, body, _who(userinfo), datetime.now(UTC), key)
    if decisions is not None:
        patch.setdefault("spec", {})["decisions"] = decisions


@kopf.on.validate(
    GROUP, VERSION, "approvalrequests", id="validate-approvalrequest", operations=["CREATE", "UPDATE"]
)
async def check_decision(
    userinfo: kopf.UserInfo,
    body: kopf.Body,
    operation: str | None = None,
    old: kopf.Body | None = None,
    **_: Any,
) -> None:
    rt = runtime()
    policy = ApprovalPolicy()
    if operation == "UPDATE":
        policy = await rt.run(_policy_for, body.metadata.namespace, body.spec.get("managedSecret", ""))
    operator_user = await rt.run(_operator_user) if operation == "CREATE" else None
    problem = admission_problem(
        str(operation),
        old,
        body,
        who=_who(userinfo),
        policy=policy,
        now=datetime.now(UTC),
        key=rt.engine.hmac_key,
        operator_user=operator_user,
    )
    if problem:
        raise kopf.AdmissionError(problem, code=403)


FINALIZER = "vaultsync.io/finalizer"
"""kopf's finalizer of ManagedSecrets (``settings.persistence.finalizer``)."""


@kopf.on.mutate(GROUP, VERSION, "managedsecrets", id="mutate-managedsecret", operations=["CREATE", "UPDATE"])
def stamp_last_modifier(
    userinfo: kopf.UserInfo,
    patch: kopf.Patch,
    body: kopf.Body,
    operation: str | None = None,
    old: kopf.Body | None = None,
    **_: Any,
) -> None:
    value = stamp_last_modified_by(str(operation), old, body, _who(userinfo))
    if value != body.metadata.annotations.get(LAST_MODIFIED_BY):
        patch.setdefault("metadata", {}).setdefault("annotations", {})[LAST_MODIFIED_BY] = value
    finalizers = list(body.metadata.get("finalizers") or [])
    if operation == "CREATE" and FINALIZER not in finalizers:
        # Born with the finalizer: kopf need not PATCH it in after the first watch event.
        patch.setdefault("metadata", {})["finalizers"] = [*finalizers, FINALIZER]
