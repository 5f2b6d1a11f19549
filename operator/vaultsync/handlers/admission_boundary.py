"""Admission of VaultProfile and ManagedSecret specs: who wrote them, and whether they stay home.

``author-vaultprofile`` / ``author-managedsecret`` (mutating, fail open) record the authenticated
author of every spec change, sealed (``reconcile.authorship``); a write that does not change the
spec keeps the previous record, so no client can set it. ``validate-vaultprofile`` /
``validate-managedsecret`` refuse specs that reach past their namespace
(``reconcile.boundary``) with a message saying what to do instead. The same checks run again
at sync time: a spec admitted while the webhooks were down is refused there and touches nothing.
"""

from __future__ import annotations

from typing import Any

import kopf

from vaultsync.api.codec import ModelError
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.api.names import GROUP, KIND_OF, MANAGED_SECRETS, VAULT_PROFILES, VERSION
from vaultsync.handlers.runtime import runtime
from vaultsync.reconcile.access import access_denied_reason
from vaultsync.reconcile.authorship import AUTHOR_ANNOTATION, Author, author_annotation, spec_written
from vaultsync.reconcile.boundary import profile_problem, secret_problems
from vaultsync.sync.spec_cache import parse_spec

KINDS = {plural: KIND_OF[plural] for plural in (VAULT_PROFILES, MANAGED_SECRETS)}


@kopf.on.mutate(GROUP, VERSION, "vaultprofiles", id="author-vaultprofile", operations=["CREATE", "UPDATE"])
@kopf.on.mutate(GROUP, VERSION, "managedsecrets", id="author-managedsecret", operations=["CREATE", "UPDATE"])
def stamp_author(
    resource: kopf.Resource,
    userinfo: kopf.UserInfo,
    patch: kopf.Patch,
    body: kopf.Body,
    *,
    operation: str | None = None,
    old: Any = None,
    **_: Any,
) -> None:
    who = Author(str(userinfo.get("username") or ""), tuple(userinfo.get("groups") or ()))
    key = runtime().engine.hmac_key
    value = author_annotation(KINDS[resource.plural], str(operation), old, body, who=who, key=key)
    if value != body.metadata.annotations.get(AUTHOR_ANNOTATION):
        patch.setdefault("metadata", {}).setdefault("annotations", {})[AUTHOR_ANNOTATION] = value


@kopf.on.validate(
    GROUP, VERSION, "vaultprofiles", id="validate-vaultprofile", operations=["CREATE", "UPDATE"]
)
def check_profile_boundary(body: kopf.Body, operation: str | None = None, old: Any = None, **_: Any) -> None:
    if not spec_written(operation, old, body):
        return
    problem = profile_problem(body, runtime().settings.boundary)
    if problem:
        raise kopf.AdmissionError(problem, code=403)


def _sharing_problems(namespace: str, spec: ManagedSecretSpec) -> list[str]:
    """Organisation profiles the ManagedSecret names that exist and are not shared with its namespace."""
    rt = runtime()
    refs = [spec.source.vault_profile, *(t.vault_profile for t in spec.sync_targets)]
    problems = []
    for ref in refs:
        if ref.namespace != rt.settings.namespace or namespace == rt.settings.namespace:
            continue
        profile = rt.kube.get_object("vaultprofiles", rt.settings.namespace, ref.name)
        if profile is None:
            continue  # applied in any order: the sync reports a missing profile
        denied = access_denied_reason(
            profile, namespace, rt.kube.namespace_labels(namespace), rt.settings.namespace
        )
        if denied:
            problems.append(denied)
    return problems


@kopf.on.validate(
    GROUP, VERSION, "managedsecrets", id="validate-managedsecret", operations=["CREATE", "UPDATE"]
)
async def check_secret_boundary(
    body: kopf.Body, operation: str | None = None, old: Any = None, **_: Any
) -> None:
    # Only writes of a spec are judged: finalizer and metadata updates of an object that got in
    # while the webhook was down must go on (the sync refuses it, and it must stay deletable).
    if not spec_written(operation, old, body):
        return
    try:
        spec = parse_spec(body)  # not the engine's cache: this generation is not stored yet
    except ModelError:
        return  # its sync refuses it (InvalidSpec) and reads and writes nothing
    rt = runtime()
    namespace = str(body.metadata.namespace)
    problems = secret_problems(namespace, spec, rt.settings.boundary)
    if not problems:
        problems = await rt.run(_sharing_problems, namespace, spec)
    if problems:
        raise kopf.AdmissionError("; ".join(problems), code=403)
