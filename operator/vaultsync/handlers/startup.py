"""Operator start and stop: settings, the HMAC key, redaction of logs, the shared runtime."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import kopf

from vaultsync.backends.kube_http import BearerToken, KubeConnection, KubeHttp
from vaultsync.handlers import managedsecret, metrics, secret_events, webhook
from vaultsync.handlers import runtime as runtime_module
from vaultsync.handlers.failure_log import quiet_transport_retries
from vaultsync.handlers.leadership import leadership
from vaultsync.secrets.redaction import install_redaction
from vaultsync.sync.access_guard import AccessGuard
from vaultsync.sync.engine import SyncEngine
from vaultsync.sync.event_poster import EventPoster
from vaultsync.sync.kubeapi import HANDLER_CONNECTIONS, KubeApi
from vaultsync.sync.limits import Limit
from vaultsync.sync.profiles import ProfileResolver
from vaultsync.sync.scheduler import Health, SchedulerSettings, SyncScheduler, run_in
from vaultsync.sync.secret_names import SecretNames
from vaultsync.sync.settings import OperatorSettings


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's watches use the connection the operator's own calls use (``backends.kube_http``).
    kopf calls this again when the API server refuses its token, which reads a rotated one."""
    connection = KubeConnection.load()

    def pem(path: str | None) -> str | None:
        return Path(path).read_text() if path else None

    return kopf.ConnectionInfo(
        server=connection.server,
        ca_path=None if connection.ca_data else connection.ca_file,
        ca_data=connection.ca_data,
        insecure=connection.insecure or None,
        token=BearerToken(connection).get(),
        certificate_data=pem(connection.cert_file),
        private_key_data=pem(connection.key_file),
        default_namespace=connection.namespace,
    )


def _scheduler(
    ours: OperatorSettings, engine: SyncEngine, executor: concurrent.futures.ThreadPoolExecutor
) -> SyncScheduler:
    limit = Limit(ours.operator_qps, ours.operator_burst) if ours.operator_qps > 0 else None
    settings = SchedulerSettings(
        workers=ours.sync_workers,
        retry_base_seconds=ours.retry_base_seconds,
        retry_cap_seconds=ours.retry_cap_seconds,
        backend_concurrency=ours.backend_concurrency,
        operator_rate=limit,
        min_wait_seconds=ours.min_refresh_seconds,
    )
    return SyncScheduler(
        managedsecret.hooks(engine.sync),
        settings,
        functools.partial(run_in, executor),
        threads=ours.sync_threads,
    )


LIST_PAGE = 500
"""Objects per page of kopf's initial listings."""
WORKER_IDLE_SECONDS = 0.5
"""How long kopf keeps a per-object worker (and the body it last handled) after its last event."""


class ApiServerWait:
    """kopf's retry delays for Kubernetes API errors: 1, 1, 2, 3, 5, 8 s, then every 10 s forever.

    kopf's default gives up after 8 retries (about 54 s), and a watch that gives up stops the
    whole operator: an apiserver restart that takes longer (a 60 s outage plus start-up, or an
    upgrade) would kill it. Iterable but not sized, so kopf retries without a count; a new
    iterator per request, so no request uses up another's delays.
    """

    def __iter__(self) -> Iterator[float]:
        return itertools.chain((1.0, 1.0, 2.0, 3.0, 5.0, 8.0), itertools.repeat(10.0))


class _NoDiffBase(kopf.DiffBaseStorage):
    """No kopf handler compares an old spec with a new one (there are no change handlers), so
    kopf need not PATCH its last-handled-configuration annotation into every new object, nor
    deep-copy every body it receives to compare it (the copy was 5 % of the operator's CPU)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


def _quiet_success(record: logging.LogRecord) -> bool:
    """kopf logs every handler and webhook success at INFO: lines per watch event and per
    admission request, thousands a minute, that say nothing a failure would not."""
    message = str(record.msg)
    return not (message.startswith(("Handler ", "Webhook ")) and message.endswith(" succeeded."))


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    install_redaction()  # every record of every logger: values registered by the sync are masked
    # urllib3 logs each request line at DEBUG (paths and queries only, never bodies); at
    # VAULTSYNC_LOG_LEVEL=DEBUG that is a line per API call: keep it out.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
    quiet_transport_retries()
    logging.getLogger("kopf.objects").addFilter(_quiet_success)
    # One access line per admission request; failures are logged by the webhook handlers.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    ours = OperatorSettings.from_env()
    settings.persistence.finalizer = webhook.FINALIZER
    settings.persistence.diffbase_storage = _NoDiffBase()
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    # Memory at scale: kopf lists every object in one response unless told to page, and each
    # per-object worker keeps the last event's body while it idles (5 s by default). At start
    # that held every ManagedSecret's whole body at once (about 20 KB each as Python objects).
    settings.watching.chunk_size = LIST_PAGE
    settings.queueing.idle_timeout = WORKER_IDLE_SECONDS
    settings.networking.error_backoffs = ApiServerWait()
    settings.admission.server = webhook.webhook_server()
    http = KubeHttp(KubeConnection.load(), pool_size=ours.sync_threads + HANDLER_CONNECTIONS)
    kube = KubeApi(http)
    hmac_key = kube.ensure_hmac_key(ours.namespace, ours.hmac_secret_name)
    guard = AccessGuard(http, hmac_key, ttl=ours.access_review_seconds, on_answer=metrics.access_reviewed)
    profiles = ProfileResolver(kube, ours, guard)
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=ours.sync_threads, thread_name_prefix="vaultsync-sync"
    )
    secret_names = SecretNames()
    secret_names.load(kube, ours.watch_namespaces)
    engine = SyncEngine(kube, profiles, ours, hmac_key, secret_names=secret_names)
    scheduler = _scheduler(ours, engine, executor)
    run = functools.partial(run_in, executor)
    leader = leadership(ours, http, scheduler, executor)
    runtime_module.RUNTIME = runtime_module.Runtime(
        settings=ours,
        kube=kube,
        profiles=profiles,
        engine=engine,
        executor=executor,
        scheduler=scheduler,
        leadership=leader,
        events=EventPoster(kube),
        finalizers=managedsecret.finalizers(kube, lambda: leader.leading, run),
    )
    scheduler.start()
    runtime_module.RUNTIME.events.start()
    loop = asyncio.get_running_loop()
    runtime_module.RUNTIME.managed_secrets = managedsecret.feed(runtime_module.RUNTIME, loop)
    runtime_module.RUNTIME.managed_secrets.start()
    runtime_module.RUNTIME.secret_watch = secret_events.secret_watch(runtime_module.RUNTIME, loop)
    runtime_module.RUNTIME.secret_watch.start()
    runtime_module.RUNTIME.leadership.start()
    metrics.serve(ours.metrics_port, profiles.call_counts, _health, ours.metrics_address)
    logger.info("vaultsync started (namespace %s)", ours.namespace)


def _health() -> Health | None:
    rt = runtime_module.RUNTIME
    return rt.scheduler.health(rt.leading) if rt is not None else None


@kopf.on.probe(id="sync")
def probe(**_: Any) -> dict[str, Any]:
    """Readiness and liveness detail on kopf's probe endpoint (``vaultsync run --liveness``)."""
    health = _health()
    if health is None:
        raise kopf.PermanentError("the operator runtime is not started")
    return {
        "leader": bool(health.leader),
        "queueDepth": int(health.depth),
        "oldestOverdueSeconds": round(health.overdue, 1),
        "failingBackends": [name for name, ok in health.backends if not ok],
    }


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    rt = runtime_module.RUNTIME
    if rt is not None:
        await rt.leadership.stop()
        loop = asyncio.get_running_loop()
        for watch in (rt.secret_watch, rt.managed_secrets):
            if watch is not None:
                await loop.run_in_executor(None, watch.stop)
        await rt.finalizers.stop()
        await rt.scheduler.stop()
        await rt.events.stop()
        rt.profiles.close()
        rt.executor.shutdown(wait=False, cancel_futures=True)
        runtime_module.RUNTIME = None
