"""The operator freezes what start-up created and collects young garbage less often."""

from __future__ import annotations

import json
import subprocess
import sys

from vaultsync import gc_tuning

CODE = """
import gc, json
import vaultsync.handlers  # what `vaultsync run` imports before it starts
from vaultsync.gc_tuning import settle_garbage_collector
before = len(gc.get_objects())
settle_garbage_collector()
print(json.dumps({"before": before, "scanned": len(gc.get_objects()), "frozen": gc.get_freeze_count(),
                  "thresholds": gc.get_threshold()}))
"""


def test_start_up_objects_are_never_scanned_again_in_a_fresh_process() -> None:
    # A process of its own: freezing and thresholds change the process for good.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True)
    seen = json.loads(result.stdout)
    assert seen["frozen"] > 50_000
    assert seen["scanned"] < seen["before"] // 10
    assert seen["thresholds"] == [gc_tuning.YOUNG_THRESHOLD, *gc_tuning.OLDER_THRESHOLDS]
