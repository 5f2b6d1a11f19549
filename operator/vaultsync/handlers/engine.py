"""One sync of one ManagedSecret: read the source, check it, push it, describe what happened.

Blocking (vault SDKs are synchronous); the kopf daemon runs it in a worker thread. It
decides nothing itself: ``reconcile.plan_sync`` does. It returns the next status and the
events to post; the caller patches only the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vaultsync.api.managedsecret_status import short_fingerprint
from vaultsync.backends.errors import BackendError, NotFound, NotOwned
from vaultsync.handlers import k8s_targets
from vaultsync.handlers.kubeapi import KubeApi
from vaultsync.handlers.profiles import ProfileError, ProfileResolver, ResolvedProfile
from vaultsync.handlers.settings import OperatorSettings
from vaultsync.reconcile.plan import ObservedTarget, Operation, SyncInput, WriteReason, plan_sync
from vaultsync.reconcile.status import Phase, Reason, SyncReport, TargetOutcome, TargetState, next_status
from vaultsync.reconcile.targets import TargetKey, TargetKind, secret_target, vault_target
from vaultsync.secrets import formats
from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.fingerprint import fingerprint_of
from vaultsync.secrets.versions import VersionRecord, append_version

TRUE, FALSE = "True", "False"


class EventReason:
    """Event reasons: constants, so people and alerts can filter on them."""

    SYNCED = "Synced"
    DRIFT_CORRECTED = "DriftCorrected"
    TARGET_FAILED = "TargetFailed"
    SOURCE_FAILED = "SourceFailed"
    INVALID_CONTENT = "InvalidContent"
    PENDING_APPROVAL = "PendingApproval"


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class SyncResult:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    failed: bool = False
    """True when something should be retried with backoff."""
    watched: dict[str, tuple[ResolvedProfile | None, str]] = field(default_factory=dict)
    """Target id or ``source`` -> (profile, path): what the change tracker should watch."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _gated(profiles: list[ResolvedProfile]) -> set[Operation]:
    """The union of gated operations: the strictest policy of source and sync-target profiles wins."""
    gated: set[Operation] = set()
    for profile in profiles:
        for op in (profile.approval or {}).get("operations") or []:
            gated.add(Operation(op))
    return gated


class SyncEngine:
    def __init__(
        self, kube: KubeApi, profiles: ProfileResolver, settings: OperatorSettings, hmac_key: bytes
    ) -> None:
        self.kube = kube
        self.profiles = profiles
        self.settings = settings
        self.hmac_key = hmac_key

    def sync(self, body: Mapping[str, Any]) -> SyncResult:
        meta, spec = body["metadata"], body.get("spec") or {}
        namespace, name = meta["namespace"], meta["name"]
        owner = f"{namespace}/{name}"
        previous: dict[str, Any] = dict(body.get("status") or {})
        now, generation = _now(), meta.get("generation")

        def failure(phase: Phase, reason: Reason, message: str, event: str, **extra: Any) -> SyncResult:
            report = SyncReport(phase, reason, message, now, generation, **extra)
            return SyncResult(next_status(previous, report), [Event("Warning", event, message)], failed=True)

        if spec.get("state") == "Inactive":
            report = SyncReport(
                Phase.INACTIVE, Reason.SYNCED, "spec.state is Inactive: sync is paused", now, generation
            )
            return SyncResult(next_status(previous, report))

        secret_type = spec["type"]
        try:
            source = self.profiles.resolve(namespace, spec["source"]["vaultProfile"])
            target_profiles = [
                self.profiles.resolve(namespace, t["vaultProfile"]) for t in spec.get("syncTargets") or []
            ]
        except ProfileError as e:
            return failure(Phase.FAILED, e.reason, e.message, EventReason.SOURCE_FAILED)
        source_env = spec["source"].get("environment")
        source_key = vault_target(source.key, spec["source"]["path"], source_env)
        try:
            remote = source.backend.read(source_key.path)
        except NotFound:
            message = f"source {source_key.describe()} not found"
            return failure(Phase.FAILED, Reason.SOURCE_NOT_FOUND, message, EventReason.SOURCE_FAILED)
        except BackendError as e:
            message = f"reading source {source_key.describe()} failed: {e}"
            return failure(Phase.FAILED, Reason.SOURCE_UNAVAILABLE, message, EventReason.SOURCE_FAILED)
        try:
            content = parse_content(secret_type, remote.document)
        except SecretModelError as e:
            message = f"source content is not a valid {secret_type}: {e}"
            result = failure(Phase.FAILED, Reason.INVALID_CONTENT, message, EventReason.INVALID_CONTENT)
            result.failed = False  # retrying cannot help; the next change of the source will
            return result
        fingerprint = fingerprint_of(content, self.hmac_key)
        document = formats.to_document(content)

        observed, outcomes_failed = self._observe(spec, namespace, target_profiles, secret_type, source_env)
        last_versions = [VersionRecord.from_status(v) for v in previous.get("versions") or []]
        plan = plan_sync(
            SyncInput(
                source_fingerprint=fingerprint,
                source_identity=str(source_key.id),
                last_fingerprint=previous.get("fingerprint"),
                last_source_identity=previous.get("sourceIdentity"),
                targets=[o for o in observed.values() if o is not None],
                gated=_gated([source, *target_profiles]),
                approved_fingerprint=previous.get("approvedFingerprint"),
            )
        )
        if plan.needs_approval:
            message = (
                f"{plan.operation} is gated by an approval policy; nothing is pushed until it is approved"
            )
            report = SyncReport(
                Phase.PENDING_APPROVAL,
                Reason.APPROVAL_PENDING,
                message,
                now,
                generation,
                approval=(FALSE, Reason.APPROVAL_PENDING, message),
            )
            return SyncResult(
                next_status(previous, report), [Event("Normal", EventReason.PENDING_APPROVAL, message)]
            )

        outcomes: dict[str, TargetOutcome] = dict(outcomes_failed)
        for key_id, obs in observed.items():
            if obs is not None and obs.key in plan.in_sync:
                outcomes[key_id] = TargetOutcome(obs.key, TargetState.SYNCED, fingerprint, obs.version)
        profiles_by_key = {p.key: p for p in target_profiles}
        events: list[Event] = []
        adopt = bool(spec.get("adopt"))
        k8s_specs = {
            secret_target(s.get("namespace") or namespace, s["name"]).id: s
            for s in spec.get("kubernetesSecrets") or []
        }
        for write in plan.writes:
            try:
                if write.key.kind is TargetKind.VAULT:
                    assert write.key.profile is not None
                    version = profiles_by_key[write.key.profile].backend.write(
                        write.key.path,
                        secret_type,
                        document,
                        owner=owner,
                        expected_version=write.expected_version,
                        adopt=adopt,
                    )
                else:
                    version = self._write_secret(
                        write.key, secret_type, document, owner, adopt, k8s_specs[write.key.id]
                    )
            except (BackendError, KeyError) as e:
                message = str(e) if isinstance(e, BackendError) else "target profile unavailable"
                outcomes[write.key.id] = TargetOutcome(write.key, TargetState.FAILED, message=message)
                events.append(
                    Event("Warning", EventReason.TARGET_FAILED, f"{write.key.describe()}: {message}")
                )
                continue
            outcomes[write.key.id] = TargetOutcome(
                write.key, TargetState.SYNCED, fingerprint, version, synced_at=now
            )
            if write.reason is WriteReason.DRIFT:
                events.append(
                    Event(
                        "Normal",
                        EventReason.DRIFT_CORRECTED,
                        f"{write.key.describe()} was changed out of band; restored",
                    )
                )

        ordered = [outcomes[k] for k in observed]
        failed = [o for o in ordered if o.state is not TargetState.SYNCED]
        fields = self._version_fields(
            previous, last_versions, plan.new_version, fingerprint, source, remote.version, content, now
        )
        fields["sourceIdentity"] = str(source_key.id)
        if plan.writes and not failed:
            fields["lastSyncedAt"] = now
        if plan.new_version:
            events.append(
                Event(
                    "Normal",
                    EventReason.SYNCED,
                    f"version {fields['currentVersion']} pushed to {len(ordered)} targets",
                )
            )
        ready_message = (
            f"version {fields.get('currentVersion', previous.get('currentVersion'))} is in all {len(ordered)} targets"
            if not failed
            else f"{len(failed)} of {len(ordered)} targets failed: "
            + "; ".join(f"{o.key.describe()}: {o.message}" for o in failed[:3])
        )
        report = SyncReport(
            Phase.FAILED if failed else Phase.SYNCED,
            Reason.TARGETS_FAILED if failed else Reason.SYNCED,
            ready_message,
            now,
            generation,
            targets=ordered,
            approval=(
                TRUE,
                Reason.APPROVAL_NOT_REQUIRED if not _gated([source, *target_profiles]) else Reason.APPROVED,
                "no pending change",
            ),
        )
        result = SyncResult(next_status(previous, report, **fields), events, failed=bool(failed))
        result.watched["source"] = (source, source_key.path)
        for o in ordered:
            if o.key.kind is TargetKind.VAULT and o.key.profile in profiles_by_key:
                result.watched[o.key.id] = (profiles_by_key[o.key.profile], o.key.path)
        return result

    def _version_fields(
        self,
        previous: Mapping[str, Any],
        history: list[VersionRecord],
        new_version: bool,
        fingerprint: str,
        source: ResolvedProfile,
        source_version: str,
        content: SecretContent,
        now: str,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "fingerprint": fingerprint,
            "shortFingerprint": short_fingerprint(fingerprint),
        }
        expires = content.expires_at
        fields["expiresAt"] = formats_timestamp(expires) if expires else None
        if new_version:
            number = int(previous.get("currentVersion") or 0) + 1
            record = VersionRecord(
                number, fingerprint, str(source.key), source_version, datetime.now(UTC).replace(microsecond=0)
            )
            history = (
                append_version(history, record, self.settings.version_history)
                if history and history[-1].version == number - 1
                else [*history[-(self.settings.version_history - 1) :], record]
            )
            fields["currentVersion"] = number
            fields["versions"] = [r.to_status() for r in history]
        return fields

    def _observe(
        self,
        spec: Mapping[str, Any],
        namespace: str,
        profiles: list[ResolvedProfile],
        secret_type: str,
        source_env: str | None,
    ) -> tuple[dict[str, ObservedTarget | None], dict[str, TargetOutcome]]:
        observed: dict[str, ObservedTarget | None] = {}
        failed: dict[str, TargetOutcome] = {}
        for target, profile in zip(spec.get("syncTargets") or [], profiles, strict=True):
            key = vault_target(profile.key, target["path"], target.get("environment") or source_env)
            try:
                remote = profile.backend.read(key.path)
                observed[key.id] = ObservedTarget(
                    key, True, self._fingerprint_or_none(secret_type, remote.document), remote.version
                )
            except NotFound:
                observed[key.id] = ObservedTarget(key, False)
            except BackendError as e:
                observed[key.id] = None
                failed[key.id] = TargetOutcome(key, TargetState.FAILED, message=str(e))
        for target in spec.get("kubernetesSecrets") or []:
            key = secret_target(target.get("namespace") or namespace, target["name"])
            try:
                snapshot = k8s_targets.read_target(self.kube, key.namespace or namespace, key.path)
                doc = k8s_targets.document_of(secret_type, snapshot)
                observed[key.id] = ObservedTarget(
                    key, True, self._fingerprint_or_none(secret_type, doc), snapshot.resource_version
                )
            except NotFound:
                observed[key.id] = ObservedTarget(key, False)
            except (BackendError, SecretModelError) as e:
                observed[key.id] = (
                    ObservedTarget(key, True, None, None) if isinstance(e, SecretModelError) else None
                )
                if not isinstance(e, SecretModelError):
                    failed[key.id] = TargetOutcome(key, TargetState.FAILED, message=str(e))
        return observed, failed

    def _fingerprint_or_none(self, secret_type: str, document: Mapping[str, Any]) -> str | None:
        try:
            return fingerprint_of(parse_content(secret_type, document), self.hmac_key)
        except SecretModelError:
            return None

    def _write_secret(
        self,
        key: TargetKey,
        secret_type: str,
        document: Mapping[str, Any],
        owner: str,
        adopt: bool,
        target_spec: Mapping[str, Any],
    ) -> str:
        assert key.namespace is not None
        try:
            expected: k8s_targets.SecretSnapshot | None = k8s_targets.read_target(
                self.kube, key.namespace, key.path
            )
        except NotFound:
            expected = None
        return k8s_targets.write_target(
            self.kube,
            key.namespace,
            key.path,
            secret_type=secret_type,
            document=document,
            owner=owner,
            expected=expected,
            adopt=adopt,
            spec=target_spec,
        )

    def delete_targets(self, body: Mapping[str, Any]) -> list[str]:
        """Removes what this ManagedSecret owns from every target; returns problems (empty when done)."""
        meta, spec = body["metadata"], body.get("spec") or {}
        namespace = meta["namespace"]
        owner = f"{namespace}/{meta['name']}"
        problems: list[str] = []
        for target in spec.get("syncTargets") or []:
            try:
                profile = self.profiles.resolve(namespace, target["vaultProfile"])
                key = vault_target(
                    profile.key,
                    target["path"],
                    target.get("environment") or spec["source"].get("environment"),
                )
                profile.backend.delete(key.path, owner=owner)
            except (NotFound, NotOwned):
                continue
            except (BackendError, ProfileError) as e:
                problems.append(f"{target['path']}: {e}")
        for target in spec.get("kubernetesSecrets") or []:
            try:
                k8s_targets.delete_target(
                    self.kube, target.get("namespace") or namespace, target["name"], owner
                )
            except BackendError as e:
                problems.append(f"Secret {target['name']}: {e}")
        return problems


def formats_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
