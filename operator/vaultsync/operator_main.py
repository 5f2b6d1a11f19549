"""``vaultsync run``: the kopf operator in this process, with our handlers registered."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence


def run_operator(
    namespaces: Sequence[str] = (), standalone: bool = False, liveness: str | None = None
) -> int:
    import kopf  # noqa: PLC0415

    import vaultsync.handlers  # noqa: F401, PLC0415 - registers the handlers
    from vaultsync.handlers.settings import OperatorSettings  # noqa: PLC0415

    kopf.configure(verbose=os.environ.get("VAULTSYNC_LOG_LEVEL", "").upper() == "DEBUG")
    # Only these namespaces are watched (the chart's Roles allow no more); empty: the whole cluster.
    watch = list(namespaces) or list(OperatorSettings.from_env().watch_namespaces)
    # Peering (one active replica of several) only when the chart names a peering object;
    # naming one makes kopf wait for it to exist.
    peering = os.environ.get("VAULTSYNC_PEERING") or None
    asyncio.run(
        kopf.operator(
            clusterwide=not watch,
            namespaces=watch,
            standalone=standalone or peering is None,
            peering_name=peering,
            priority=int(os.environ.get("VAULTSYNC_PEERING_PRIORITY") or 0),
            liveness_endpoint=liveness,
        )
    )
    return 0
