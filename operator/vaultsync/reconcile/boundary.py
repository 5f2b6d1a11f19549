"""The namespace boundary: which Kubernetes Secrets a namespaced spec may reach.

A namespace is a tenant. A namespaced VaultProfile or ManagedSecret acts on Secrets of its own
namespace only. Cross-namespace reach exists only where a cluster admin granted it:
organisation profiles (in the operator's namespace, shared by ``sharing.namespaceSelector``;
checked by ``reconcile.access``) and the operator setting of allowed cross-namespace targets
(``Boundary.cross_namespace_targets``). ``kube-system`` and the operator's own namespace are
never a source nor a target: they hold the cluster's and the operator's own credentials. The
operator's own identity (its environment, service account token and cloud workload identity) is
for organisation profiles only: a tenant could otherwise send it to an address of her choice.

Pure: the admission webhook and the sync call the same functions, so a spec that got in while
the webhook was down is refused at sync time with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaultsync.api.managedsecret import ManagedSecretSpec

PROTECTED_NAMESPACES = ("kube-system",)
OPERATOR_IDENTITY = (
    ("hashicorp", "kubernetes", "its service account token"),
    ("aws", "roleArn", "its ambient AWS credentials"),
    ("aws", "webIdentity", "its web identity token"),
    ("azure", "workloadIdentity", "its federated service account token"),
)
"""(provider, auth method, what of the operator it uses): logins with the operator's own identity."""


@dataclass(frozen=True)
class Boundary:
    """What the cluster admin configured: the operator namespace and the granted allowances."""

    operator_namespace: str
    cross_namespace_targets: frozenset[tuple[str, str]] = frozenset()
    """(ManagedSecret namespace, target namespace) pairs a cluster admin allowed."""

    def protected(self, namespace: str) -> bool:
        return namespace in PROTECTED_NAMESPACES or namespace == self.operator_namespace


def parse_allowances(text: str) -> frozenset[tuple[str, str]]:
    """``"a=b, a=c"`` -> {(a, b), (a, c)}: ManagedSecrets in ``a`` may write Secrets in ``b`` and ``c``."""
    pairs = set()
    for item in text.split(","):
        if not item.strip():
            continue
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"cross-namespace allowance {item.strip()!r} is not <namespace>=<namespace>")
        pairs.add((source.strip(), target.strip()))
    return frozenset(pairs)


def kubernetes_namespace(profile: Mapping[str, Any]) -> str | None:
    """The namespace a ``kubernetes`` profile reads and writes (its own when empty); None otherwise."""
    provider = (profile.get("spec") or {}).get("provider") or {}
    if "kubernetes" not in provider:
        return None
    named = (provider.get("kubernetes") or {}).get("namespace")
    return str(named or profile["metadata"]["namespace"])


def profile_problem(profile: Mapping[str, Any], boundary: Boundary) -> str | None:
    """Why this VaultProfile may not be used as written, or None."""
    meta = profile["metadata"]
    own = str(meta["namespace"])
    where = f"VaultProfile {own}/{meta['name']}"
    provider = (profile.get("spec") or {}).get("provider") or {}
    organisation = own == boundary.operator_namespace
    if "env" in provider and not organisation:
        return (
            f"{where}: spec.provider.env reads the operator's own environment and is allowed only for "
            f"organisation profiles in the operator namespace {boundary.operator_namespace}; ask a "
            "cluster admin to create one and share it (spec.sharing.namespaceSelector)"
        )
    if not organisation:
        for provider_key, method, what in OPERATOR_IDENTITY:
            if method in ((provider.get(provider_key) or {}).get("auth") or {}):
                return (
                    f"{where}: spec.provider.{provider_key}.auth.{method} logs in with the operator's own "
                    f"identity ({what}), which the author of a namespaced profile does not hold; it is "
                    f"allowed only for organisation profiles in the operator namespace "
                    f"{boundary.operator_namespace}: use a credential secretRef, or ask a cluster admin "
                    "for a shared organisation profile"
                )
    reached = kubernetes_namespace(profile)
    if reached is None:
        return None
    if boundary.protected(reached):
        return (
            f"{where}: spec.provider.kubernetes.namespace {reached} holds cluster or operator "
            "credentials and is never a vault; use another namespace"
        )
    if reached != own and not organisation:
        return (
            f"{where}: spec.provider.kubernetes.namespace {reached} is another namespace; a profile "
            f"reaches Secrets of its own namespace only (leave namespace empty or set {own}), or ask a "
            "cluster admin for an organisation profile in the operator namespace shared with yours"
        )
    return None


def secret_problems(own: str, spec: ManagedSecretSpec, boundary: Boundary) -> list[str]:
    """Why the spec of a ManagedSecret in namespace ``own`` reaches past it (empty when it does not).

    Profile references are checked here for their namespace only; whether an organisation profile
    is shared with this namespace needs the namespace's labels (``reconcile.access``).
    """
    problems = []
    refs = [("spec.source.vaultProfile", spec.source.vault_profile)]
    refs += [
        (f"spec.syncTargets[{i}].vaultProfile", t.vault_profile) for i, t in enumerate(spec.sync_targets)
    ]
    for field, ref in refs:
        named = ref.namespace
        if named and named not in (own, boundary.operator_namespace):
            problems.append(
                f"{field}.namespace {named}: a ManagedSecret uses profiles of its own namespace or "
                f"organisation profiles of the operator namespace {boundary.operator_namespace} only"
            )
    for i, target in enumerate(spec.kubernetes_secrets):
        named = target.namespace
        if not named or named == own:
            continue
        field = f"spec.kubernetesSecrets[{i}].namespace {named}"
        if boundary.protected(named):
            problems.append(f"{field}: Secrets are never written to {named}")
        elif (own, named) not in boundary.cross_namespace_targets:
            problems.append(
                f"{field}: a ManagedSecret writes Secrets in its own namespace only; create the "
                f"ManagedSecret in {named}, or ask a cluster admin to allow {own}={named} "
                "(Helm value crossNamespaceTargets)"
            )
    return problems
