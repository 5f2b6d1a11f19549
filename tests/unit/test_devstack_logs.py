"""A restarted process is ready when its new run says so, not when the appended log still holds
the line of an earlier run."""

from __future__ import annotations

from pathlib import Path

from vaultsync_devstack.process import START_MARK, current_run


def test_current_run_is_what_follows_the_last_start(tmp_path: Path) -> None:
    log = tmp_path / "operator.log"
    log.write_text(f"{START_MARK}op: run\nvaultsync started\nstopping\n{START_MARK}op: run\nstarting up\n")
    assert "vaultsync started" not in current_run(log)
    assert current_run(log).endswith("starting up\n")


def test_a_log_without_a_start_mark_is_read_whole(tmp_path: Path) -> None:
    log = tmp_path / "plain.log"
    log.write_text("vaultsync started\n")
    assert current_run(log) == "vaultsync started\n"
