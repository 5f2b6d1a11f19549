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

    kopf.configure(verbose=os.environ.get("VAULTSYNC_LOG_LEVEL", "").upper() == "DEBUG")
    watch = list(namespaces) or [n for n in os.environ.get("VAULTSYNC_WATCH_NAMESPACES", "").split(",") if n]
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
