"""``vaultsync run``: the kopf operator in this process, with our handlers registered."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from vaultsync.gc_tuning import settle_garbage_collector
from vaultsync.malloc_arenas import limit_malloc_arenas


def run_operator(
    namespaces: Sequence[str] = (),
    standalone: bool = False,
    liveness: str | None = None,
    preflight: bool = True,
) -> int:
    limit_malloc_arenas()  # before any thread is started
    keep_out_kubernetes_client()
    watch = list(namespaces) or [n for n in os.environ.get("VAULTSYNC_WATCH_NAMESPACES", "").split(",") if n]
    if preflight:
        problem = _preflight(watch)
        if problem:
            sys.stderr.write(f"vaultsync run: {problem}\n")
            return 1

    import kopf  # noqa: PLC0415

    import vaultsync.handlers  # noqa: F401, PLC0415 - registers the handlers
    from vaultsync.handlers.kopf_listing import survive_expired_pages  # noqa: PLC0415
    from vaultsync.sync.settings import OperatorSettings  # noqa: PLC0415

    survive_expired_pages()
    settle_garbage_collector()
    kopf.configure(verbose=os.environ.get("VAULTSYNC_LOG_LEVEL", "").upper() == "DEBUG")
    # Only these namespaces are watched (the chart's Roles allow no more); empty: the whole cluster.
    watch = list(namespaces) or list(OperatorSettings.from_env().watch_namespaces)
    # Peering (one active replica of several) only when the chart names a peering object;
    # naming one makes kopf wait for it to exist.
    peering = os.environ.get("VAULTSYNC_PEERING") or None
    standalone = standalone or peering is None
    asyncio.run(
        kopf.operator(
            clusterwide=not watch,
            namespaces=watch,
            standalone=standalone,
            peering_name=peering,
            priority=int(os.environ.get("VAULTSYNC_PEERING_PRIORITY") or 0),
            liveness_endpoint=liveness,
        )
    )
    return 0


def keep_out_kubernetes_client() -> None:
    """The operator speaks to the API server itself (``backends.kube_http``). kopf imports the
    ``kubernetes`` package whenever it is installed (the CLI uses it): about 55 MiB of memory for
    nothing. None in ``sys.modules`` makes that import fail, as if the package were not installed."""
    sys.modules.setdefault("kubernetes", None)  # type: ignore[arg-type]


def _preflight(watch: Sequence[str]) -> str | None:
    """Why the operator cannot start here, or None (see cli_preflight)."""
    from vaultsync.backends.errors import BackendError  # noqa: PLC0415
    from vaultsync.backends.kube_http import KubeConnection, KubeHttp  # noqa: PLC0415
    from vaultsync.cli_preflight import PreflightError, check  # noqa: PLC0415
    from vaultsync.sync.settings import OperatorSettings  # noqa: PLC0415

    try:
        http = KubeHttp(KubeConnection.load())
    except (BackendError, OSError, ValueError) as e:
        return f"no kubeconfig to use ({e}): set KUBECONFIG or run in a cluster"
    try:
        check(http, OperatorSettings.from_env().namespace, watch)
    except PreflightError as e:
        return str(e)
    finally:
        http.close()
    return None
