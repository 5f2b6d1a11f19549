"""Templated Kubernetes Secret targets: read the referenced secrets, render, compare.

A template sees this secret's content and the content of the ManagedSecrets listed in
``spec.references`` (same namespace). Referenced content is read from their source vaults through
the same profile resolver as any source — never from their status, which holds no values.
Rendering happens before anything is written: one failing template means nothing is pushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vaultsync.api.codec import ModelError
from vaultsync.api.managedsecret import ManagedSecretSpec, SecretState
from vaultsync.backends.errors import BackendError, NotFound
from vaultsync.reconcile.targets import secret_target, vault_target
from vaultsync.reconcile.templated import RenderedState, data_fingerprint, rendered_state
from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import SecretModelError, TemplateError
from vaultsync.secrets.fingerprint import fingerprint_of, fingerprints_equal
from vaultsync.secrets.templates import render_templates
from vaultsync.sync.access_guard import AccessRefused
from vaultsync.sync.k8s_targets import SecretSnapshot
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.profiles import ProfileError, ProfileResolver
from vaultsync.sync.spec_cache import SpecCache


class TemplateProblem(Exception):
    """Rendering cannot happen; ``retry`` is True when waiting may help (a vault was unreachable)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class RenderedTarget:
    data: dict[str, bytes]
    fingerprint: str
    """``data_fingerprint`` of ``data``; recorded on the Secret when written."""


def read_references(
    kube: KubeApi,
    profiles: ProfileResolver,
    specs: SpecCache,
    *,
    referrer: Mapping[str, Any],
    names: Sequence[str],
    hmac_key: bytes,
) -> dict[str, SecretContent]:
    """The content of each referenced ManagedSecret, as its source holds it.

    Only content the referenced ManagedSecret has itself synced is used (its source content must
    have the fingerprint of its status): a change waiting for approval, or not synced yet, is not
    pushed through someone else's template. Its sync wakes the dependents (``handlers.references``).
    """
    namespace = str(referrer["metadata"]["namespace"])
    contents: dict[str, SecretContent] = {}
    for name in names:
        where = f"spec.references: ManagedSecret {namespace}/{name}"
        body = kube.get_object("managedsecrets", namespace, name)
        if body is None:
            raise TemplateProblem(f"{where} not found", retry=False)
        try:
            spec = specs.parse(body)
        except ModelError as e:  # its own sync reports it; its next generation wakes this one
            raise TemplateProblem(f"{where}: its spec does not fit the model at {e}", retry=False) from e
        if spec.state is SecretState.INACTIVE:
            raise TemplateProblem(f"{where} is Inactive", retry=False)
        try:
            profile = profiles.resolve(namespace, spec.source.vault_profile)
            key = vault_target(profile.key, spec.source.path, spec.source.environment)
            # The referrer's author must be allowed to read a Kubernetes source it pulls in.
            profiles.require_source_read(referrer, profile, key.path)
            remote = profile.backend.read(key.path)
            content = parse_content(str(spec.type), remote.document)
        except ProfileError as e:
            raise TemplateProblem(f"{where}: {e.message}", retry=True) from e
        except AccessRefused as e:
            raise TemplateProblem(f"{where}: {e}", retry=True) from e
        except NotFound as e:
            raise TemplateProblem(f"{where}: its source was not found", retry=True) from e
        except BackendError as e:
            raise TemplateProblem(f"{where}: reading its source failed: {e}", retry=True) from e
        except SecretModelError as e:
            raise TemplateProblem(f"{where}: its source content is not valid: {e}", retry=False) from e
        synced = (body.get("status") or {}).get("fingerprint")
        if not synced or not fingerprints_equal(fingerprint_of(content, hmac_key), str(synced)):
            message = f"{where}: waiting until it has synced its source's current content (approval or sync)"
            raise TemplateProblem(message, retry=True)
        profiles.ledger.add_content(f"{namespace}/{referrer['metadata']['name']}", content)
        contents[name] = content
    return contents


def render_targets(
    kube: KubeApi,
    profiles: ProfileResolver,
    specs: SpecCache,
    *,
    body: Mapping[str, Any],
    spec: ManagedSecretSpec,
    content: SecretContent,
    hmac_key: bytes,
) -> dict[str, RenderedTarget]:
    """Target id -> rendered data of every templated Kubernetes Secret target (empty when none)."""
    namespace = str(body["metadata"]["namespace"])
    templated = [t for t in spec.kubernetes_secrets if t.template]
    if not templated:
        return {}
    references = read_references(
        kube, profiles, specs, referrer=body, names=spec.references, hmac_key=hmac_key
    )
    rendered: dict[str, RenderedTarget] = {}
    for target in templated:
        key = secret_target(target.namespace or namespace, target.name)
        try:
            values = render_templates(target.template, content, references)
        except TemplateError as e:
            raise TemplateProblem(f"{key.describe()}: {e}", retry=False) from e
        profiles.ledger.add(f"{namespace}/{body['metadata']['name']}", values.values())
        data = {name: value.encode("utf-8") for name, value in values.items()}
        rendered[key.id] = RenderedTarget(data, data_fingerprint(data, hmac_key))
    return rendered


def observe_rendered(
    snapshot: SecretSnapshot, desired: RenderedTarget, hmac_key: bytes
) -> tuple[bool, RenderedState]:
    """(in sync, state) of a templated Secret compared with what the templates render now."""
    held = data_fingerprint(snapshot.data, hmac_key)
    state = rendered_state(held, desired.fingerprint, snapshot.recorded_fingerprint)
    return state is RenderedState.IN_SYNC, state
