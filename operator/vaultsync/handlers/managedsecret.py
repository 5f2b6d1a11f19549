"""Glue for ManagedSecret: watch events feed the scheduler (``sync.scheduler``), which syncs,
and the finalizer queue (``sync.finalizing``), which deletes.

The events come from the operator's own watch (``sync.object_feed``), not from kopf; kopf serves
only the admission webhooks of ManagedSecrets. Nothing but status is written by a sync, so a
steady state makes no PATCH at all; status is patched only when the next status differs, right
after the sync.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from vaultsync.api.codec import ModelError
from vaultsync.api.common import parse_duration
from vaultsync.api.managedsecret import DeletionPolicy, ManagedSecretSpec
from vaultsync.api.names import GROUP, MANAGED_SECRETS, VERSION
from vaultsync.backends.interface import OWNER_KEY
from vaultsync.backends.kube_http import resource_path
from vaultsync.handlers import approvalrequest, deletion, metrics, references
from vaultsync.handlers.failure_log import FAILURES, observe_sync, status_not_written
from vaultsync.handlers.runtime import Runtime, runtime
from vaultsync.handlers.webhook import FINALIZER
from vaultsync.reconcile.conditions import status_patch
from vaultsync.reconcile.lifecycle import seconds_until_lifecycle_sync
from vaultsync.sync.finalizing import Finalizers, RetryLater, Run
from vaultsync.sync.kubeapi import KUBE_ERRORS, KubeApi, apiserver_unreachable
from vaultsync.sync.list_watch import Key, WatchedResource, owner_of
from vaultsync.sync.notices import Notice
from vaultsync.sync.object_feed import ObjectFeed
from vaultsync.sync.scheduler import Hooks, Outcome
from vaultsync.sync.secret_watch import DELETED, SecretChange
from vaultsync.sync.sync_run import SyncResult

PLURAL = MANAGED_SECRETS
REFRESH_ANNOTATION = "vaultsync.io/refresh-requested-at"
RETAINED = "TargetsRetained"
DELETION_WAITS = "DeletionWaits"
INVALID_SPEC_RETRY_SECONDS = 60
LOG = logging.getLogger("vaultsync.sync")


def wanted(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What, when it changes, must trigger a sync at once: the spec and the refresh annotation."""
    meta = body.get("metadata") or {}
    return (meta.get("generation"), (meta.get("annotations") or {}).get(REFRESH_ANNOTATION))


def _spec(body: Mapping[str, Any]) -> ManagedSecretSpec | None:
    """The spec its sync parsed (the engine keeps it by uid and generation); None when it does not fit."""
    try:
        return runtime().engine.specs.parse(body)
    except ModelError:
        return None


def interval(body: Mapping[str, Any], result: Outcome) -> float:
    """The ManagedSecret's refreshInterval, else its source profile's, else the operator's default.

    Never, for a spec that does not fit the model: its sync reported why, and only a new
    generation (or a refresh request) syncs it again."""
    settings = runtime().settings
    spec = _spec(body)
    if spec is None:
        return math.inf
    text = spec.refresh_interval
    if not text:
        profile = result.watched.get("source", (None, ""))[0]
        text = profile.refresh_interval if profile is not None else None
    seconds = parse_duration(text).total_seconds() if text else settings.default_refresh_seconds
    return max(settings.min_refresh_seconds, seconds)


def lifecycle_wait(body: Mapping[str, Any], status: Mapping[str, Any]) -> float:
    """Seconds until rotation or expiry needs a sync even when the vaults show nothing new."""
    horizon = timedelta(days=runtime().settings.expiry_warning_days)
    spec = _spec(body)
    wait = (
        None if spec is None else seconds_until_lifecycle_sync(dict(status), spec, datetime.now(UTC), horizon)
    )
    return math.inf if wait is None else wait


async def after_sync(owner: str, synced: dict[str, Any], result: Outcome, seconds: float) -> None:
    """Writes what one sync found: status (the difference only), events, metrics, usage."""
    assert isinstance(result, SyncResult)  # noqa: S101 - the scheduler hands back what sync returned
    rt = runtime()
    source_profile = result.watched.get("source", (None, ""))[0]
    source_backend = source_profile.provider_key if source_profile else "unknown"
    metrics.observe_sync(owner, source_backend, seconds, result.status, result.failed)
    # A failure is logged when the object's state changes, not at every retry (failure_log).
    worth_logging = observe_sync(owner, result.status, str(source_profile.key) if source_profile else None)
    # Events first: they are posted in the background while the status patch runs, so whoever
    # sees the new status finds the events that explain it.
    # While the API server is known to be down, posts would only fail.
    posting = not rt.scheduler.waiting_for_apiserver
    for event in result.events:
        if posting:
            rt.events.post(synced, event.type, event.reason, event.message)
        if event.type != "Warning" or worth_logging:
            LOG.info("%s: %s: %s", owner, event.reason, event.message)
    if posting:
        post_related(result.related)
    meta = synced["metadata"]
    patch = status_patch(dict(synced.get("status") or {}), result.status)
    if patch:
        try:
            await rt.run(rt.kube.patch_status, PLURAL, meta["namespace"], meta["name"], patch)
        except KUBE_ERRORS as e:  # sync again (after the API server is back, or with backoff) and re-patch
            status_not_written(owner, e, LOG)
            result.status, result.failed = dict(synced.get("status") or {}), True
            result.apiserver_down = apiserver_unreachable(e)
            return
    rt.track_usage(owner, result.watched)


def post_related(notices: Iterable[Notice]) -> None:
    """Events about other objects (workloads restarted, Secrets removed) a sync described."""
    for notice in notices:
        if notice.involved is not None:
            runtime().events.post(notice.involved.as_body(), notice.type, notice.reason, notice.message)


def current_backend(profile: Any) -> Any:
    """Blocking: the profile's backend as the resolver has it now. The one a past sync used may
    have been dropped since (its credentials rotated): listing through it would go unseen."""
    rt = runtime()
    body = rt.profiles.body(profile.key) or profile.body
    _, provider_key, fields = rt.profiles.provider(body)
    return rt.profiles.backend(profile.key, body, provider_key, fields)


def apiserver_ready() -> bool:
    """Blocking: the readiness probe the scheduler runs while the API server is down."""
    return runtime().kube.ready()


def hooks(sync: Callable[[dict[str, Any]], Outcome]) -> Hooks:
    """What the scheduler calls: ``sync`` (``SyncEngine.sync``) and this module's glue."""
    return Hooks(
        sync=sync,
        after_sync=after_sync,
        wanted=wanted,
        interval=interval,
        lifecycle_wait=lifecycle_wait,
        backend=current_backend,
        apiserver_ready=apiserver_ready,
    )


def observed(kind: str, body: dict[str, Any]) -> None:
    """Every watch event (on the event loop): the scheduler keeps the newest body and queues a
    sync when wanted moved; an object being deleted leaves the scheduler for the finalizer queue."""
    rt = runtime()
    owner = owner_of(body)
    references.observed(kind, body)
    if kind == DELETED or body["metadata"].get("deletionTimestamp"):
        rt.scheduler.forget(owner)
        rt.track_usage(owner, {})
        metrics.forget(owner)
        FAILURES.forget(owner)
        if kind != DELETED and rt.finalizers.deleting(body):
            rt.finalizers.observe(body)
        else:
            rt.finalizers.forget(owner)
        return
    rt.finalizers.ensure(body)
    rt.scheduler.observe(owner, body)


def feed(rt: Runtime, loop: asyncio.AbstractEventLoop) -> ObjectFeed:
    """The watch of ManagedSecrets in the operator's namespaces (not started)."""
    resource = WatchedResource("ManagedSecrets", functools.partial(resource_path, GROUP, VERSION, PLURAL))
    namespaces = rt.settings.watch_namespaces
    return ObjectFeed(rt.kube.http, resource, namespaces, loop=loop, on_event=observed, on_relisted=relisted)


def finalizers(kube: KubeApi, leading: Callable[[], bool], run: Run) -> Finalizers:
    """The deletion queue behind the operator's finalizer (``remove_from_targets`` is its work)."""
    return Finalizers(
        kube,
        plural=PLURAL,
        finalizer=FINALIZER,
        finalize=remove_from_targets,
        leading=leading,
        run=run,
        on_retry=deletion_waits,
    )


def relisted(namespace: str | None, listed: set[Key]) -> None:
    """After a fresh list: what was known and is not listed went while no watch was open."""
    rt = runtime()
    for owner in sorted({*rt.scheduler.owners(), *rt.finalizers.pending()}):
        ns, name = owner.split("/", 1)
        if (namespace is None or ns == namespace) and (ns, name) not in listed:
            observed(DELETED, {"metadata": {"namespace": ns, "name": name}})


def target_secret_changed(change: SecretChange) -> None:
    """A Kubernetes Secret target changed (or vanished): its ManagedSecret checks it at once."""
    owner = change.annotations.get(OWNER_KEY)
    rt = runtime()
    namespace, name, version = change.namespace, change.name, change.resource_version
    before = rt.engine.secret_names.seen(namespace, name, change.type != DELETED, owner, version)
    if rt.kube.is_own_write(namespace, name, version):
        return  # the echo of our own write, not drift
    if change.type != DELETED and before == version:
        return  # listed again (after the watch expired) as it was: nothing changed
    if owner:
        # The sync that wrote it may not have noted the write yet: asked again once it has.
        rt.force_sync(owner, unless=lambda: rt.kube.is_own_write(namespace, name, version))


def source_secret_changed(change: SecretChange) -> None:
    """A Kubernetes Secret that is the source of ManagedSecrets changed: they sync at once."""
    for owner in runtime().sources_of(change.namespace, change.name):
        runtime().force_sync(owner)


async def remove_from_targets(body: dict[str, Any]) -> None:
    """The finalizer's work (``sync.finalizing``): deletes or keeps the copies, once approved."""
    rt = runtime()
    try:
        spec = rt.engine.specs.parse(body)
    except ModelError as e:
        # Neither the approval policy of its profiles nor its copies can be known: nothing is
        # decided on a guess. Fixing the spec (or installing the operator's CRD) lets it go on.
        message = f"deletion waits: the spec does not fit this operator's ManagedSecret model at {e}"
        raise RetryLater(message, INVALID_SPEC_RETRY_SECONDS) from e
    await approvalrequest.hold_gated_delete(body, spec)
    if spec.deletion_policy is not DeletionPolicy.DELETE:
        LOG.info("%s: deletionPolicy Retain: targets are left in place", owner_of(body))
        rt.events.info(body, RETAINED, "deletionPolicy Retain: targets are left in place")
    else:
        await deletion.delete_with_retention(rt, body, spec)
    rt.profiles.ledger.release(owner_of(body))


def deletion_waits(body: dict[str, Any], message: str) -> None:
    """A deletion will run again later: said once per reason, in the log and as an Event."""
    LOG.info("%s: %s", owner_of(body), message)
    runtime().events.info(body, DELETION_WAITS, message)
