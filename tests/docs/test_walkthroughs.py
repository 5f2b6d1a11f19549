"""The docs run as written: every ``sh runnable`` block, in order, against the real stack.

The stack is the test session's (real kube-apiserver, OpenBao and moto on free ports) with the
operator and its admission webhooks running as in the end-to-end suite. The demo ``./scripts/dev``
prepares (examples, credentials, source content) is prepared the same way here, and ``env.sh``
is written by the same function, so a block sees what a reader sees after sourcing it. A block
that fails, or prints something other than its ``expect`` block promises, fails the test with
the block's place in the doc.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docs.walkthroughs import blocks_of, documents, run_block, unmet
from vaultsync_devstack import Stack, demo
from vaultsync_devstack.localenv import write_env
from vaultsync_devstack.process import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGHS = [path for path in documents(REPO) if blocks_of(path.read_text(), path.name)]

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def local_env(stack: Stack, operator: ManagedProcess, webhooks: object) -> Path:
    """The demo of ``./scripts/dev`` on the test stack, every example Synced, and its ``env.sh``."""
    demo.prepare(stack.kube, stack.openbao, stack.moto)
    demo.apply_examples(stack.kube, stack.openbao, stack.moto)
    demo.wait_until_synced(stack.kube, timeout=180)
    return write_env(stack.state, stack.kube, stack.openbao, stack.moto)


@pytest.mark.parametrize("doc", WALKTHROUGHS, ids=[path.name for path in WALKTHROUGHS])
def test_walkthrough_runs_as_written(doc: Path, local_env: Path, tmp_path: Path) -> None:
    carried = tmp_path / "exported.sh"
    for block in blocks_of(doc.read_text(), str(doc.relative_to(REPO))):
        done = run_block(block, local_env, carried)
        problems = unmet(block.expect, done)
        assert not problems, (
            f"{block.where}: "
            + "; ".join(problems)
            + f"\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
