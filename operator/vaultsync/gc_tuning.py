"""Less garbage-collector work in the operator process.

Every watch event kopf handles and every Secrets Manager call botocore makes leaves reference
cycles behind (kopf's body and patch views point back at their parents; botocore builds a parser
per call that refers to itself): about 115 cyclic objects per sync, which only the cycle
collector frees. With the default thresholds it ran some 50 young collections per second during
an initial sync, and each full collection walked the 200,000 objects that importing kopf,
botocore and the operator had created and that live until the process ends: 12 % of the
operator's CPU at 5,000 ManagedSecrets (``docs/performance.md``).

So the objects that exist once start-up is done are frozen (never scanned again), and young
collections run after more allocations. Garbage cycles then wait a little longer to be freed;
the peak memory this costs is measured beside the CPU it saves.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 2000
"""Allocations (minus frees) between two young collections; CPython's default is 700."""
OLDER_THRESHOLDS = (10, 10)


def settle_garbage_collector() -> None:
    """Call once the operator's modules are imported, before it starts handling events."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
