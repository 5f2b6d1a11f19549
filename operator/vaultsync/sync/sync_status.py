"""The status a sync ends with: versions, conditions, compliance; pure over the sync's values.

The engine decides what happened; these functions turn it into the next ``status`` (and the
NonCompliant result when enforced rules fail), never reading or writing anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vaultsync.api.codec import parse_timestamp, status_time
from vaultsync.api.managedsecret_status import short_fingerprint
from vaultsync.compliance.verdict import PolicySource, Verdict, judge
from vaultsync.reconcile.plan import Operation
from vaultsync.reconcile.status import Phase, Reason, TargetOutcome, TargetState, next_status
from vaultsync.secrets.content import SecretContent
from vaultsync.secrets.versions import VersionRecord, append_version
from vaultsync.sync.profiles import ResolvedProfile
from vaultsync.sync.sync_run import FALSE, TRUE, Event, EventReason, SyncResult, SyncRun


def version_fields(
    run: SyncRun,
    new_version: bool,
    *,
    fingerprint: str,
    source: ResolvedProfile,
    source_version: str,
    content: SecretContent,
    history_limit: int,
) -> dict[str, Any]:
    candidates = [content.expires_at, run.spec.expires_at]
    expires = min((moment for moment in candidates if moment is not None), default=None)
    fields: dict[str, Any] = {
        "fingerprint": fingerprint,
        "shortFingerprint": short_fingerprint(fingerprint),
        "expiresAt": status_time(expires) if expires else None,
    }
    if new_version:
        history = [VersionRecord.from_status(v) for v in run.previous.get("versions") or []]
        number = int(run.previous.get("currentVersion") or 0) + 1
        record = VersionRecord(number, fingerprint, str(source.key), source_version, datetime.now(UTC))
        if history and history[-1].version != number - 1:
            history = []  # the history was edited by hand: start it again from this version
        history = append_version(history, record, history_limit)
        fields["currentVersion"] = number
        fields["versions"] = [r.to_status() for r in history]
    return fields


def final_status(
    run: SyncRun, ordered: list[TargetOutcome], fields: dict[str, Any], gated: set[Operation]
) -> dict[str, Any]:
    failed = [o for o in ordered if o.state is not TargetState.SYNCED]
    version = fields.get("currentVersion", run.previous.get("currentVersion"))
    if failed:
        named = "; ".join(f"{o.key.describe()}: {o.message}" for o in failed[:3])
        message = f"{len(failed)} of {len(ordered)} targets failed: {named}"
    else:
        message = f"version {version} is in all {len(ordered)} targets"
    approval = (TRUE, Reason.APPROVED if gated else Reason.APPROVAL_NOT_REQUIRED, "no pending change")
    report = run.report(
        Phase.FAILED if failed else Phase.SYNCED,
        Reason.TARGETS_FAILED if failed else Reason.SYNCED,
        message,
        targets=ordered,
        approval=approval,
        compliance=run.compliance.condition if run.compliance else None,
    )
    if run.compliance is not None:
        fields["compliance"] = {"results": run.compliance.results} if run.compliance.results else None
    return next_status(run.previous, report, **fields)


def judge_compliance(run: SyncRun, profiles: list[ResolvedProfile], content: SecretContent) -> Verdict:
    history = run.previous.get("versions") or []
    created = parse_timestamp(history[-1]["createdAt"]) if history else None
    if created is not None and history[-1].get("fingerprint") != run.source_fingerprint:
        created = None  # new content: its age starts now
    policies = [PolicySource(str(p.key), p.compliance) for p in profiles]
    return judge(policies, content, created or datetime.now(UTC), datetime.now(UTC))


def non_compliant(run: SyncRun, verdict: Verdict) -> SyncResult:
    """Enforced rules fail: nothing is pushed; status names the failing rules, never values."""
    _, _, message = verdict.condition
    compliance = (FALSE, Reason.NON_COMPLIANT, message)
    report = run.report(Phase.NON_COMPLIANT, Reason.NON_COMPLIANT, message, compliance=compliance)
    status = next_status(run.previous, report, compliance={"results": verdict.results})
    return SyncResult(status, [Event("Warning", EventReason.NON_COMPLIANT, message)])
