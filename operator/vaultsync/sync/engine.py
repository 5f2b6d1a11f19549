"""One sync of one ManagedSecret: read the source, check it, push it, describe what happened.

Blocking (vault SDKs are synchronous); the scheduler runs it in its thread pool. It
decides nothing itself: ``reconcile.plan_sync`` does. It returns the next status and the
events to post; the caller patches only the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from vaultsync.api.codec import ModelError, status_time
from vaultsync.api.managedsecret import KubernetesSecretTarget, ManagedSecretSpec, SecretState
from vaultsync.backends.errors import BackendError, Conflict, NotFound, PermissionDenied
from vaultsync.backends.interface import Backend, CreatesNew, Document, RemoteSecret
from vaultsync.reconcile.boundary import kubernetes_namespace, secret_problems
from vaultsync.reconcile.expiry import apply_expiry
from vaultsync.reconcile.plan import ObservedTarget, SyncPlan, TargetWrite, WriteReason, plan_sync
from vaultsync.reconcile.retention import CopyDeletion
from vaultsync.reconcile.status import Phase, Reason, TargetOutcome, TargetState, next_status
from vaultsync.reconcile.targets import TargetKey, TargetKind, secret_target, vault_target
from vaultsync.reconcile.templated import RenderedState
from vaultsync.secrets import formats
from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.fingerprint import fingerprint_of
from vaultsync.sync import activation, approval_memory, k8s_targets, rollout, templating
from vaultsync.sync.access_guard import AccessRefused
from vaultsync.sync.approvals import ApprovalGate, GateInput
from vaultsync.sync.consumer_index import ConsumerIndex, consumers_field
from vaultsync.sync.exclusive import ResourceGuard, serialized_per_resource
from vaultsync.sync.generation import GenerationFailed, prepare_source
from vaultsync.sync.kubeapi import KubeApi, KubeStatusError, kube_error
from vaultsync.sync.notices import NoticeReason
from vaultsync.sync.profiles import ProfileError, ProfileResolver, ResolvedProfile
from vaultsync.sync.retention import RESTORED, delete_copies, read_or_restore
from vaultsync.sync.secret_names import SecretNames
from vaultsync.sync.settings import OperatorSettings
from vaultsync.sync.spec_cache import SpecCache
from vaultsync.sync.sync_run import (
    FALSE,
    Event,
    EventReason,
    SyncAborted,
    SyncResult,
    SyncRun,
    gated_operations,
    spec_refused,
)
from vaultsync.sync.sync_status import final_status, judge_compliance, non_compliant, version_fields


def pushed_message(version: Any, plan: SyncPlan, outcomes: Mapping[str, TargetOutcome]) -> str:
    """The ``Synced`` event text: only the targets really written count as pushed."""
    states = [outcomes[w.key.id].state for w in plan.writes]
    written = sum(1 for state in states if state is TargetState.SYNCED)
    failed = len(states) - written
    text = f"version {version} pushed to {written} target{'s' if written != 1 else ''}"
    return text + (f"; {failed} failed" if failed else "")


class SyncEngine:
    def __init__(
        self,
        kube: KubeApi,
        profiles: ProfileResolver,
        settings: OperatorSettings,
        hmac_key: bytes,
        *,
        secret_names: SecretNames | None = None,
        guard: ResourceGuard | None = None,
        specs: SpecCache | None = None,
    ) -> None:
        self.kube = kube
        self.specs = specs or SpecCache()
        """Parsed specs by (uid, generation): the sync, the scheduler's hooks and deletion share them."""
        self.guard = guard or ResourceGuard()
        """Serializes a sync and the deletion of one ManagedSecret's copies (``exclusive``)."""
        self.secret_names = secret_names or SecretNames()
        self.profiles = profiles
        self.settings = settings
        self.hmac_key = hmac_key
        self.consumers = ConsumerIndex.for_kube(kube)
        self.approvals = ApprovalGate(kube, hmac_key)

    @serialized_per_resource(body_at=1, when_retired=lambda body: SyncResult(dict(body.get("status") or {})))
    def sync(self, body: Mapping[str, Any]) -> SyncResult:
        if body["metadata"].get("deletionTimestamp"):
            # Deletion is the finalizer's (with its own Delete approval): a sync now would read
            # the generation bump of the delete as a spec change and ask again for old changes.
            return SyncResult(dict(body.get("status") or {}))
        try:
            run = SyncRun(body, self.specs.parse(body))
        except ModelError as e:
            return spec_refused(body, e)
        problems = secret_problems(run.namespace, run.spec, self.settings.boundary)
        if problems:
            # Nothing is read or written: the spec reaches past its namespace.
            refused = run.abort(
                Reason.NAMESPACE_BOUNDARY, "; ".join(problems), EventReason.SOURCE_FAILED, retry=False
            )
            return refused.result
        try:
            try:
                result = self._sync(run)
            except (BackendError, KubeStatusError) as e:
                # An outage met by a step without its own report (approvals, consumers, rollout):
                # a Failed status and a retry, never a dead sync loop.
                message = f"sync stopped: {kube_error(e, 'Kubernetes API call')}"
                result = run.abort(Reason.UNAVAILABLE, message, EventReason.SYNC_FAILED).result
            if run.memory is not None:
                result = approval_memory.report(result, run, run.memory)
            return self._with_lifecycle(run, result)
        finally:
            self.profiles.ledger.settle(run.owner)

    def _sync(self, run: SyncRun) -> SyncResult:
        body = run.body
        if run.spec.state is SecretState.INACTIVE:
            deactivated, notices = activation.deactivate_targets(
                self.kube, self.profiles, self.consumers, body, run.spec
            )
            report = run.report(
                Phase.INACTIVE, Reason.INACTIVE, activation.INACTIVE_MESSAGE, targets=deactivated
            )
            status = next_status(run.previous, report, consumers=self._consumers(run))
            return SyncResult(status).notify(notices)
        try:
            source, targets = self._resolve(run)
            source_key = vault_target(source.key, run.spec.source.path, run.spec.source.environment)
            self._generate(run, [source, *targets], source_key)
            remote, content = self._read_source(run, source, source_key)
            run.rendered = self._render(run, content)
        except SyncAborted as aborted:
            return aborted.result
        fingerprint = run.source_fingerprint = fingerprint_of(content, self.hmac_key)
        run.compliance = judge_compliance(run, [source, *targets], content)
        if run.compliance.blocked:
            return non_compliant(run, run.compliance)
        notices = activation.reactivate_targets(targets, body, run.spec)
        gated = gated_operations([source, *targets])
        # Nothing gated and no target in status: no plan depends on what the vault copies hold.
        # Status is only a hint here: a create never touches a name that is taken.
        observed, failures = self._observe(
            run, targets, presume_new=not gated and not run.previous.get("targets")
        )
        sync_input = approval_memory.plan_input(
            run,
            self.hmac_key,
            gated,
            source_fingerprint=fingerprint,
            source_identity=source_key.id,
            targets=[o for o in observed.values() if o is not None],
        )
        plan = plan_sync(sync_input)
        gate = self.approvals.review(
            GateInput(
                run.body,
                run.spec,
                plan,
                fingerprint,
                content,
                [source, *targets],
                [*observed.values()],
                run.now,
            )
        )
        if gate.held_status is not None:
            return SyncResult(gate.held_status, [Event(*e) for e in gate.events], failed=gate.retry)
        if gate.approved_fingerprint:
            plan = plan_sync(replace(sync_input, approved_fingerprint=gate.approved_fingerprint))
        if plan.needs_approval:
            message = (
                f"{plan.operation} is gated by an approval policy; nothing is pushed until it is approved"
            )
            report = run.report(
                Phase.PENDING_APPROVAL,
                Reason.APPROVAL_PENDING,
                message,
                approval=(FALSE, Reason.APPROVAL_PENDING, message),
            )
            return SyncResult(
                next_status(run.previous, report), [Event("Normal", EventReason.PENDING_APPROVAL, message)]
            )
        outcomes, events = self._push(run, plan, targets, content, fingerprint)
        writes = [(w.key, w.reason) for w in plan.writes]
        notices += rollout.restart_after_push(
            self.kube,
            body,
            run.spec,
            writes=writes,
            outcomes=outcomes,
            rerendered=run.rerendered,
            now=run.now,
        )
        events[:0] = [
            Event("Warning", EventReason.TARGET_FAILED, f"{o.key.describe()}: {o.message}")
            for o in failures.values()
        ]
        outcomes = {**failures, **outcomes}
        ordered = [outcomes[key_id] for key_id in observed]
        ordered = rollout.keep_messages(ordered, run.previous.get("targets") or [])
        fields = version_fields(
            run,
            plan.new_version,
            fingerprint=fingerprint,
            source=source,
            source_version=remote.version,
            content=content,
            history_limit=self.settings.version_history,
        )
        fields["sourceIdentity"] = source_key.id
        fields.update(
            gate.fields,
            **approval_memory.record_fields(
                run,
                self.hmac_key,
                gated,
                fingerprint=fingerprint,
                source_identity=source_key.id,
                approved_by=gate.approved_by,
            ),
        )
        events.extend(Event(*e) for e in gate.events)
        if plan.new_version:
            events.append(
                Event("Normal", EventReason.SYNCED, pushed_message(fields["currentVersion"], plan, outcomes))
            )
        fields["consumers"] = self._consumers(run)
        result = SyncResult(final_status(run, ordered, fields, gated), events).notify(notices)
        result.failed = any(o.state is not TargetState.SYNCED for o in ordered)
        result.watched["source"] = (source, source_key.path)
        result.versions["source"] = remote.version
        by_key = {p.key: p for p in targets}
        for outcome in ordered:
            if outcome.key.profile in by_key:
                result.watched[outcome.key.id] = (by_key[outcome.key.profile], outcome.key.path)
                if outcome.version is not None:
                    result.versions[outcome.key.id] = outcome.version
        return result

    def _resolve(self, run: SyncRun) -> tuple[ResolvedProfile, list[ResolvedProfile]]:
        try:
            source = self.profiles.resolve(run.namespace, run.spec.source.vault_profile)
            targets = [self.profiles.resolve(run.namespace, t.vault_profile) for t in run.spec.sync_targets]
        except ProfileError as e:
            raise run.abort(e.reason, e.message, EventReason.SOURCE_FAILED) from e
        return source, targets

    def _generate(self, run: SyncRun, profiles: list[ResolvedProfile], key: TargetKey) -> None:
        try:
            generated = prepare_source(
                profiles[0].backend,
                key.path,
                run.body,
                run.spec,
                remember=lambda v: self.profiles.ledger.add(run.owner, v),
                waiting=lambda: self.approvals.waiting_update(run.body, profiles),
            )
        except GenerationFailed as e:
            raise run.abort(Reason.SOURCE_UNAVAILABLE, str(e), EventReason.SOURCE_FAILED) from e
        if generated is not None:
            run.notes.append(Event("Normal", generated.reason, generated.message))
            run.rotated_at = status_time(generated.at)

    def _with_lifecycle(self, run: SyncRun, result: SyncResult) -> SyncResult:
        """Lifecycle events first, ``lastRotatedAt``, and the expiry of the content (``ExpiringSoon``)."""
        result.events[:0] = run.notes
        if run.rotated_at:
            result.status["lastRotatedAt"] = run.rotated_at
        horizon = timedelta(days=self.settings.expiry_warning_days)
        result.status, warning = apply_expiry(result.status, run.spec.expires_at, datetime.now(UTC), horizon)
        if warning:
            result.events.append(Event("Warning", EventReason.EXPIRING_SOON, warning))
        return result

    def _read_source(
        self, run: SyncRun, source: ResolvedProfile, key: TargetKey
    ) -> tuple[RemoteSecret, SecretContent]:
        try:
            self.profiles.require_source_read(run.body, source, key.path)
        except AccessRefused as e:
            raise run.abort(Reason.ACCESS_DENIED, str(e), EventReason.SOURCE_FAILED) from e
        try:
            remote = source.backend.read(key.path)
        except NotFound as e:
            raise run.abort(
                Reason.SOURCE_NOT_FOUND, f"source {key.describe()} not found", EventReason.SOURCE_FAILED
            ) from e
        except BackendError as e:
            message = f"reading source {key.describe()} failed: {e}"
            raise run.abort(Reason.SOURCE_UNAVAILABLE, message, EventReason.SOURCE_FAILED) from e
        try:
            content = parse_content(run.secret_type, remote.document)
            self.profiles.ledger.add_content(run.owner, content)
            return remote, content
        except SecretModelError as e:
            message = f"source content is not a valid {run.secret_type}: {e}"
            # Retrying cannot help; the next change of the source will.
            raise run.abort(Reason.INVALID_CONTENT, message, EventReason.INVALID_CONTENT, retry=False) from e

    def _observe(
        self, run: SyncRun, profiles: list[ResolvedProfile], *, presume_new: bool
    ) -> tuple[dict[str, ObservedTarget | None], dict[str, TargetOutcome]]:
        observed: dict[str, ObservedTarget | None] = {}
        failed: dict[str, TargetOutcome] = {}
        source_env = run.spec.source.environment
        for target, profile in zip(run.spec.sync_targets, profiles, strict=True):
            key = vault_target(profile.key, target.path, target.environment or source_env)
            if presume_new and isinstance(profile.backend, CreatesNew):
                run.presumed_absent.add(key.id)  # _write_copy looks when the name is taken
                observed[key.id] = ObservedTarget(key, False)
                continue
            try:
                remote = self._read_copy(run, key, profile.backend)
                observed[key.id] = ObservedTarget(
                    key, True, self._held_fingerprint(run, remote), remote.version
                )
            except NotFound:
                observed[key.id] = ObservedTarget(key, False)
            except BackendError as e:
                observed[key.id] = None
                failed[key.id] = TargetOutcome(key, TargetState.FAILED, message=str(e))
        for secret in run.spec.kubernetes_secrets:
            key = secret_target(secret.namespace or run.namespace, secret.name)
            if not self.secret_names.may_exist(key.namespace or run.namespace, key.path):
                run.secrets_seen[key.id] = None
                run.presumed_absent.add(key.id)
                observed[key.id] = ObservedTarget(key, False)
                continue
            try:
                snapshot = k8s_targets.read_target(self.kube, key.namespace or run.namespace, key.path)
                run.secrets_seen[key.id] = snapshot
                if key.id in run.rendered:
                    fingerprint = self._rendered_fingerprint(run, key, snapshot)
                else:
                    fingerprint = self._fingerprint_or_none(
                        run, k8s_targets.document_of(run.secret_type, snapshot)
                    )
                if not run.owns(snapshot.managed, snapshot.owner):
                    fingerprint = None  # equal content is no claim: the write refuses or adopts
                observed[key.id] = ObservedTarget(key, True, fingerprint, snapshot.resource_version)
            except NotFound:
                run.secrets_seen[key.id] = None
                observed[key.id] = ObservedTarget(key, False)
            except SecretModelError:
                observed[key.id] = ObservedTarget(key, True, None, None)
            except BackendError as e:
                observed[key.id] = None
                failed[key.id] = TargetOutcome(key, TargetState.FAILED, message=str(e))
        run.observed_versions = {k: o.version for k, o in observed.items() if o is not None}
        return observed, failed

    def _render(self, run: SyncRun, content: SecretContent) -> dict[str, templating.RenderedTarget]:
        try:
            return templating.render_targets(
                self.kube,
                self.profiles,
                self.specs,
                body=run.body,
                spec=run.spec,
                content=content,
                hmac_key=self.hmac_key,
            )
        except templating.TemplateProblem as e:
            event = NoticeReason.TEMPLATE_FAILED
            raise run.abort(Reason.TEMPLATE_FAILED, str(e), event, retry=e.retry) from e

    def _rendered_fingerprint(
        self, run: SyncRun, key: TargetKey, snapshot: k8s_targets.SecretSnapshot
    ) -> str | None:
        """A templated Secret holding the render counts as holding the source's content."""
        self.profiles.ledger.add(run.owner, snapshot.data.values())
        in_sync, state = templating.observe_rendered(snapshot, run.rendered[key.id], self.hmac_key)
        if state is RenderedState.CHANGED:
            run.rerendered.add(key.id)
        return run.source_fingerprint if in_sync else None

    def _consumers(self, run: SyncRun) -> list[dict[str, str]] | None:
        return consumers_field(self.consumers, run.owner, run.namespace, run.spec)

    def _fingerprint_or_none(self, run: SyncRun, document: Mapping[str, Any]) -> str | None:
        """The fingerprint of what a target holds (its values are masked in logs from now on)."""
        try:
            content = parse_content(run.secret_type, document)
        except SecretModelError:
            return None
        self.profiles.ledger.add_content(run.owner, content)
        return fingerprint_of(content, self.hmac_key)

    def _push(
        self,
        run: SyncRun,
        plan: SyncPlan,
        targets: list[ResolvedProfile],
        content: SecretContent,
        fingerprint: str,
    ) -> tuple[dict[str, TargetOutcome], list[Event]]:
        outcomes = {
            key.id: TargetOutcome(key, TargetState.SYNCED, fingerprint, run.observed_versions.get(key.id))
            for key in plan.in_sync
        }
        events: list[Event] = []
        document = formats.to_document(content)
        by_key = {p.key: p for p in targets}
        k8s_specs = {
            secret_target(s.namespace or run.namespace, s.name).id: s for s in run.spec.kubernetes_secrets
        }
        adopt = run.spec.adopt
        for write in plan.writes:
            try:
                if write.key.kind is TargetKind.VAULT and write.key.profile in by_key:
                    version = self._write_copy(run, write, by_key[write.key.profile], document, adopt)
                else:
                    version = self._write_secret(run, write.key, document, adopt, k8s_specs[write.key.id])
            except BackendError as e:
                outcomes[write.key.id] = TargetOutcome(write.key, TargetState.FAILED, message=str(e))
                events.append(Event("Warning", EventReason.TARGET_FAILED, f"{write.key.describe()}: {e}"))
                continue
            outcomes[write.key.id] = TargetOutcome(
                write.key, TargetState.SYNCED, fingerprint, version, synced_at=run.now
            )
            if write.reason is WriteReason.DRIFT and write.key.id not in run.rerendered:
                message = f"{write.key.describe()} was changed out of band; restored"
                events.append(Event("Normal", EventReason.DRIFT_CORRECTED, message))
        return outcomes, events

    def _read_copy(self, run: SyncRun, key: TargetKey, backend: Backend) -> RemoteSecret:
        """A vault copy as it is now; one of ours soft-deleted within its window is restored first."""
        remote, restored = read_or_restore(backend, key.path, run.owner)
        if restored:
            message = f"{key.describe()} was soft-deleted within its window; restored"
            run.notes.append(Event("Normal", RESTORED, message))
        return remote

    def _held_fingerprint(self, run: SyncRun, remote: RemoteSecret) -> str | None:
        """The fingerprint of a copy of ours; None for another's (equal content is no claim: the
        write refuses or adopts it)."""
        if not run.owns(remote.metadata.managed, remote.metadata.owner):
            return None
        return self._fingerprint_or_none(run, remote.document)

    def _write_copy(
        self, run: SyncRun, write: TargetWrite, profile: ResolvedProfile, document: Document, adopt: bool
    ) -> str:
        backend, key, expected = profile.backend, write.key, write.expected_version
        if key.id in run.presumed_absent and isinstance(backend, CreatesNew):
            try:
                return backend.create(key.path, run.secret_type, document, owner=run.owner)
            except Conflict:
                pass  # the name is taken after all: look, then write as a read-first sync would
            try:
                remote = self._read_copy(run, key, backend)
            except NotFound:
                remote = None
            if remote is not None:
                if self._held_fingerprint(run, remote) == run.source_fingerprint:
                    return remote.version
                expected = remote.version
        reached = kubernetes_namespace(profile.body)
        if adopt and reached is not None and expected is not None:
            self._require_adopt(run, reached, key.path.strip("/"))
        return backend.write(
            key.path, run.secret_type, document, owner=run.owner, expected_version=expected, adopt=adopt
        )

    def _write_secret(
        self,
        run: SyncRun,
        key: TargetKey,
        document: Mapping[str, Any],
        adopt: bool,
        target_spec: KubernetesSecretTarget,
    ) -> str:
        namespace = key.namespace or run.namespace
        seen = run.secrets_seen
        expected = seen[key.id] if key.id in seen else self._read_secret(namespace, key)
        try:
            written = self._write_over(
                run, key, expected, document=document, adopt=adopt, target_spec=target_spec
            )
        except Conflict:
            if expected is not None or key.id not in run.presumed_absent:
                raise
            # The Secret exists after all (not ours, or made after the names were listed).
            expected = self._read_secret(namespace, key)
            if expected is None:
                raise
            written = self._write_over(
                run, key, expected, document=document, adopt=adopt, target_spec=target_spec
            )
        self.secret_names.seen(namespace, key.path, exists=True, owner=run.owner)
        return written

    def _write_over(
        self,
        run: SyncRun,
        key: TargetKey,
        expected: k8s_targets.SecretSnapshot | None,
        *,
        document: Mapping[str, Any],
        adopt: bool,
        target_spec: KubernetesSecretTarget,
    ) -> str:
        namespace = key.namespace or run.namespace
        rendered = run.rendered.get(key.id)
        if expected is not None and adopt and not run.owns(expected.managed, expected.owner):
            self._require_adopt(run, namespace, key.path)
        return k8s_targets.write_target(
            self.kube,
            namespace,
            key.path,
            secret_type=run.secret_type,
            document=document,
            owner=run.owner,
            expected=expected,
            adopt=adopt,
            spec=target_spec,
            rendered=(rendered.data, rendered.fingerprint) if rendered else None,
        )

    def _read_secret(self, namespace: str, key: TargetKey) -> k8s_targets.SecretSnapshot | None:
        try:
            return k8s_targets.read_target(self.kube, namespace, key.path)
        except NotFound:
            return None

    def _require_adopt(self, run: SyncRun, namespace: str, name: str) -> None:
        """Taking over a Secret vaultsync does not own needs its author's right to update it."""
        try:
            self.profiles.guard.require(
                "ManagedSecret", run.body, verb="update", namespace=namespace, name=name, why="adopt"
            )
        except AccessRefused as e:
            raise PermissionDenied(str(e), missing=[f"update secrets/{name} in {namespace}"]) from e

    @serialized_per_resource(body_at=1, retire=True)
    def delete_targets(self, body: Mapping[str, Any], spec: ManagedSecretSpec) -> list[CopyDeletion]:
        """Soft-deletes what this ManagedSecret owns in every target, with the retention window."""
        return delete_copies(self.kube, self.profiles, body, spec, self.settings.retention_days)
