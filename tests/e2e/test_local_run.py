"""The README's main command works: the local stack, the examples and the operator reach Synced.

Runs ``scripts/dev`` exactly as README.md says, with ``--exit-when-synced`` so it stops by
itself once every example ManagedSecret is Synced (it waits at most a minute for that).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vaultsync_devstack import demo

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack


def test_scripts_dev_reaches_synced(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "dev"), "--state", str(tmp_path / "state"), "--exit-when-synced"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    table = done.stdout
    synced_rows = [line for line in table.splitlines() if line.startswith("managedsecret.vaultsync.io/")]
    assert len(synced_rows) == len(demo.demo_documents()), tail
    assert all(" Synced " in row for row in synced_rows), tail
    assert "vaultprofile.vaultsync.io/openbao" in table
    assert "Stop: press Ctrl-C" not in table, "--exit-when-synced must not wait for Ctrl-C"
    assert "BEGIN" not in done.stdout + done.stderr, "no key or certificate material is printed"
    assert f"state kept in {tmp_path / 'state'}" in done.stdout, "--state is kept, and it says where"
    assert (tmp_path / "state" / "kube").is_dir()
