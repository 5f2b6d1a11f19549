"""From a ManagedSecret's profile reference to a ready backend, with access rules and caching.

Backends are built once per profile generation and shared by every ManagedSecret that uses
the profile; credentials are re-read when the profile changes or the backend is rebuilt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vaultsync.api.codec import ModelError
from vaultsync.api.common import ProfileRef
from vaultsync.api.policy import ApprovalPolicy, CompliancePolicy
from vaultsync.api.vaultprofile import VaultProfileSpec
from vaultsync.backends.errors import BackendError
from vaultsync.backends.interface import Backend, Credentials
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync.reconcile.access import access_denied_reason
from vaultsync.reconcile.boundary import kubernetes_namespace, profile_problem
from vaultsync.reconcile.status import Reason
from vaultsync.reconcile.targets import ProfileKey
from vaultsync.secrets.redaction import RedactionLedger
from vaultsync.sync.access_guard import AccessGuard, AccessRefused
from vaultsync.sync.credentials import credential_refs, resolve_credentials
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.profile_spec import ProfileSpecs, parse_profile_spec, provider_fields
from vaultsync.sync.settings import OperatorSettings

NAMESPACE_LABELS_TTL = 30.0


class ProfileError(Exception):
    """A profile cannot be used; ``reason`` is a condition reason constant."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ProfileMissing(ProfileError):
    """The VaultProfile does not exist (deleted, or not created yet)."""


class ProfileSpecUnfit(ProfileError):
    """The VaultProfile's spec does not fit the operator's model; ``path`` names the field."""

    def __init__(self, where: str, error: ModelError) -> None:
        super().__init__(
            Reason.PROFILE_NOT_READY,
            f"{where}: the spec does not fit this operator's VaultProfile model at {error.path}: "
            f"{error.problem} (is an older CRD installed?); it is not used until the spec changes",
        )
        self.path = error.path


@dataclass(frozen=True)
class ResolvedProfile:
    key: ProfileKey
    body: Mapping[str, Any] = field(repr=False)
    provider_key: str
    backend: Backend
    spec: VaultProfileSpec = field(repr=False)
    """The body's spec, parsed once per generation: read it, not the body."""

    @property
    def approval(self) -> ApprovalPolicy | None:
        return self.spec.approval

    @property
    def compliance(self) -> CompliancePolicy | None:
        return self.spec.compliance

    @property
    def refresh_interval(self) -> str:
        """``spec.refreshInterval``: how often secrets using this profile are re-read."""
        return self.spec.refresh_interval


def _where(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return f"VaultProfile {meta.get('namespace')}/{meta.get('name')}"


def provider_of(body: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(provider kind, raw provider fields) of a profile body, parsed here and not kept: for
    callers that hold a body and no resolver (the CLI)."""
    try:
        spec = parse_profile_spec(body)
    except ModelError as e:
        raise ProfileSpecUnfit(_where(body), e) from None
    return str(spec.provider.kind), provider_fields(body, spec)


class BuildBackend(Protocol):
    """How a backend is made from a profile's provider: ``backends.registry.create_backend``."""

    def __call__(
        self,
        provider_key: str,
        spec: Mapping[str, Any],
        credentials: Credentials | None = None,
        *,
        context: BackendContext | None = None,
    ) -> Backend: ...


class ProfileResolver:
    """Thread-safe cache of profile bodies and their backends."""

    def __init__(
        self,
        kube: KubeApi,
        settings: OperatorSettings,
        guard: AccessGuard,
        *,
        build_backend: BuildBackend | None = None,
    ) -> None:
        self.kube = kube
        self._build_backend = build_backend if build_backend is not None else create_backend
        """``create_backend`` of the registry; tests give the service an in-memory vault instead."""
        self.settings = settings
        self.guard = guard
        self.ledger = RedactionLedger()
        """Values to mask in logs: credentials here, content by the sync engine."""
        self._lock = threading.Lock()
        self._bodies: dict[ProfileKey, Mapping[str, Any]] = {}
        self._backends: dict[ProfileKey, tuple[tuple[str, int], Backend]] = {}
        self._ns_labels: dict[str, tuple[float, dict[str, str]]] = {}
        self._ns_reading: dict[str, int] = {}
        """Namespaces whose labels a sync is reading now: a watch event meanwhile is newer."""
        self._credential_secrets: dict[tuple[str, str], set[ProfileKey]] = {}
        self._specs = ProfileSpecs()
        self._building: dict[ProfileKey, threading.Lock] = {}

    def remember(self, body: Mapping[str, Any]) -> None:
        """Called on every VaultProfile watch event, so resolving needs no API call."""
        meta = body["metadata"]
        with self._lock:
            self._bodies[ProfileKey(meta["namespace"], meta["name"])] = body

    def forget(self, key: ProfileKey) -> None:
        self.ledger.release(f"VaultProfile {key}")
        with self._lock:
            self._bodies.pop(key, None)
            entry = self._backends.pop(key, None)
        if entry:
            entry[1].close()

    def body(self, key: ProfileKey) -> Mapping[str, Any] | None:
        with self._lock:
            cached = self._bodies.get(key)
        if cached is not None:
            return cached
        found = self.kube.get_object("vaultprofiles", key.namespace, key.name)
        if found is not None:
            self.remember(found)
        return found

    def spec(self, body: Mapping[str, Any]) -> VaultProfileSpec:
        """The typed spec of a stored profile body, parsed once per generation; raises
        :class:`ProfileSpecUnfit` naming the field when the model does not fit it."""
        try:
            return self._specs.parse(body)
        except ModelError as e:
            raise ProfileSpecUnfit(_where(body), e) from None

    def provider(self, body: Mapping[str, Any]) -> tuple[VaultProfileSpec, str, Mapping[str, Any]]:
        """The typed spec, the provider kind and the raw provider fields the backend is built from."""
        spec = self.spec(body)
        return spec, str(spec.provider.kind), provider_fields(body, spec)

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            cached = self._ns_labels.get(namespace)
        if cached and now - cached[0] < NAMESPACE_LABELS_TTL:
            return cached[1]
        with self._lock:
            self._ns_reading[namespace] = self._ns_reading.get(namespace, 0) + 1
        try:
            labels = self.kube.namespace_labels(namespace)
        finally:
            with self._lock:
                left = self._ns_reading.pop(namespace) - 1
                if left:
                    self._ns_reading[namespace] = left
        with self._lock:
            newer = self._ns_labels.get(namespace)
            if newer is not None and newer is not cached:  # a watch event came during the read
                return newer[1]
            self._ns_labels[namespace] = (now, labels)
        return labels

    def namespace_relabelled(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """Takes a namespace's labels from a watch event; True when they differ from the cached ones.

        Only namespaces already cached (ones that use an organisation profile) can report a change,
        and those whose labels a sync is reading right now: its answer may predate this event, so
        the event's labels are kept and the namespace's ManagedSecrets check again.
        """
        with self._lock:
            cached = self._ns_labels.get(namespace)
            reading = namespace in self._ns_reading
            if cached is None and not reading:
                return False
            self._ns_labels[namespace] = (time.monotonic(), dict(labels))
        return reading or cached is None or cached[1] != dict(labels)

    def resolve(self, user_namespace: str, ref: ProfileRef) -> ResolvedProfile:
        """The profile a ManagedSecret of ``user_namespace`` names, if it may use it, with its backend."""
        key = ProfileKey(ref.namespace or user_namespace, ref.name)
        body = self.body(key)
        if body is None:
            raise ProfileMissing(Reason.PROFILE_NOT_READY, f"VaultProfile {key} not found")
        if key.namespace != user_namespace:
            labels = self._namespace_labels(user_namespace)
            denied = access_denied_reason(body, user_namespace, labels, self.settings.namespace)
            if denied:
                raise ProfileError(Reason.PROFILE_NOT_ALLOWED, denied)
        spec, provider_key, fields = self.provider(body)
        return ResolvedProfile(key, body, provider_key, self.backend(key, body, provider_key, fields), spec)

    def backend(
        self, key: ProfileKey, body: Mapping[str, Any], provider_key: str, spec: Mapping[str, Any]
    ) -> Backend:
        """The one live backend of ``key``; callers racing to build it all get the same instance.

        Two builds at once (the profile's check and a ManagedSecret's first sync) used to leave one
        caller holding a backend that the other had replaced and closed: it kept polling through a
        client nobody counted, closed, and blind to later profile changes.
        """
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            return self._current_or_built(key, body, provider_key, spec)

    def is_current(self, profile: ResolvedProfile) -> bool:
        """False once ``profile``'s backend was replaced (profile changed) or dropped (credentials)."""
        with self._lock:
            entry = self._backends.get(profile.key)
        return entry is not None and entry[1] is profile.backend

    def _current_or_built(
        self, key: ProfileKey, body: Mapping[str, Any], provider_key: str, spec: Mapping[str, Any]
    ) -> Backend:
        identity = (str(body["metadata"].get("uid")), int(body["metadata"].get("generation") or 0))
        with self._lock:
            entry = self._backends.get(key)
        if entry and entry[0] == identity:
            return entry[1]
        problem = profile_problem(body, self.settings.boundary)
        if problem:
            raise ProfileError(Reason.NAMESPACE_BOUNDARY, problem)
        refs = credential_refs(provider_key, spec)
        with self._lock:
            for secret_name, _ in refs.values():
                self._credential_secrets.setdefault((key.namespace, secret_name), set()).add(key)
        try:
            for credential, (secret_name, _) in refs.items():
                why = f"credential {credential} of spec.provider.{provider_key}"
                self.guard.require(
                    "VaultProfile", body, verb="get", namespace=key.namespace, name=secret_name, why=why
                )
        except AccessRefused as e:
            raise ProfileError(Reason.ACCESS_DENIED, str(e)) from e
        try:
            credentials = resolve_credentials(key.namespace, provider_key, spec, self.kube.secret_data)
            self.ledger.add(f"VaultProfile {key}", credentials.values())
            self.ledger.settle(f"VaultProfile {key}")
            context = BackendContext(
                http_timeout=self.settings.http_timeout,
                kube_http=self.kube.http,
                profile_namespace=key.namespace,
                environ=self.settings.environ,
                vault_max_request_bytes=self.settings.vault_max_request_bytes,
                pool_size=self.settings.sync_threads,
            )
            built = self._build_backend(provider_key, spec, credentials, context=context)
        except BackendError as e:
            raise ProfileError(Reason.PROFILE_NOT_READY, f"VaultProfile {key}: {e}") from e
        with self._lock:
            old = self._backends.get(key)
            self._backends[key] = (identity, built)
        if old and old[1] is not built:
            old[1].close()
        return built

    def require_source_read(self, secret: Mapping[str, Any], profile: ResolvedProfile, path: str) -> None:
        """Raises ``AccessRefused`` unless reading ``path`` of a kubernetes profile is the author's right.

        In the ManagedSecret's own namespace its author must be allowed to ``get`` the Secret; through
        an organisation profile, the profile's author (the cluster admin who shared it).
        """
        namespace = kubernetes_namespace(profile.body)
        if namespace is None:
            return
        meta = secret["metadata"]
        why = f"source of ManagedSecret {meta['namespace']}/{meta['name']}"
        name = path.strip("/")
        if profile.key.namespace == meta["namespace"]:
            self.guard.require("ManagedSecret", secret, verb="get", namespace=namespace, name=name, why=why)
        else:
            self.guard.require(
                "VaultProfile", profile.body, verb="get", namespace=namespace, name=name, why=why
            )

    def profiles_using_secret(self, namespace: str, name: str) -> set[ProfileKey]:
        """Profiles whose credentials come from this Secret."""
        with self._lock:
            return set(self._credential_secrets.get((namespace, name), set()))

    def drop_backend(self, key: ProfileKey) -> None:
        """Forgets the backend of ``key`` (its credentials changed); the next use rebuilds it."""
        with self._lock:
            entry = self._backends.pop(key, None)
        if entry:
            entry[1].close()

    def call_counts(self) -> list[tuple[str, str, dict[str, int]]]:
        """(profile, provider, calls by operation) of every live backend, for metrics."""
        with self._lock:
            entries = list(self._backends.items())
        result = []
        for key, (_, backend) in entries:
            result.append((str(key), self._provider_name(key), dict(backend.calls.snapshot())))
        return result

    def _provider_name(self, key: ProfileKey) -> str:
        body = self._bodies.get(key)
        try:
            return str(self.spec(body).provider.kind) if body is not None else "unknown"
        except ProfileSpecUnfit:
            return "unknown"

    def close(self) -> None:
        with self._lock:
            entries = list(self._backends.values())
            self._backends.clear()
        for _, backend in entries:
            backend.close()
