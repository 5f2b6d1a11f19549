"""Operator start and stop: settings, the HMAC key, redaction of logs, the shared runtime."""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

import kopf
from kubernetes import config

from vaultsync.handlers import metrics, webhook
from vaultsync.handlers import runtime as runtime_module
from vaultsync.handlers.access_guard import AccessGuard
from vaultsync.handlers.engine import SyncEngine
from vaultsync.handlers.failure_log import quiet_transport_retries
from vaultsync.handlers.kubeapi import HANDLER_CONNECTIONS, KubeApi
from vaultsync.handlers.profiles import ProfileResolver
from vaultsync.handlers.settings import OperatorSettings
from vaultsync.secrets.redaction import install_redaction


def _api_client() -> Any:
    try:
        config.load_incluster_config()
        from kubernetes import client  # noqa: PLC0415

        return client.ApiClient()
    except config.ConfigException:
        return config.new_client_from_config()


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    install_redaction()  # every record of every logger: values registered by the sync are masked
    # The kubernetes client logs whole response bodies (Secret data) at DEBUG, before anything
    # read could be registered for masking: never at that level, whatever VAULTSYNC_LOG_LEVEL says.
    logging.getLogger("kubernetes.client.rest").setLevel(logging.INFO)
    quiet_transport_retries()
    ours = OperatorSettings.from_env()
    settings.persistence.finalizer = "vaultsync.io/finalizer"
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.admission.server = webhook.webhook_server()
    kube = KubeApi(_api_client(), pool_size=ours.sync_workers + HANDLER_CONNECTIONS)
    hmac_key = kube.ensure_hmac_key(ours.namespace, ours.hmac_secret_name)
    guard = AccessGuard(kube.api_client, hmac_key, ttl=ours.access_review_seconds)
    profiles = ProfileResolver(kube, ours, guard)
    runtime_module.RUNTIME = runtime_module.Runtime(
        settings=ours,
        kube=kube,
        profiles=profiles,
        engine=SyncEngine(kube, profiles, ours, hmac_key),
        executor=concurrent.futures.ThreadPoolExecutor(
            max_workers=ours.sync_workers, thread_name_prefix="vaultsync-sync"
        ),
    )
    metrics.serve(ours.metrics_port, profiles.call_counts, ours.metrics_address)
    logger.info("vaultsync started (namespace %s)", ours.namespace)


@kopf.on.cleanup()
async def stop(**_: Any) -> None:
    rt = runtime_module.RUNTIME
    if rt is not None:
        rt.profiles.close()
        rt.executor.shutdown(wait=False, cancel_futures=True)
        runtime_module.RUNTIME = None
