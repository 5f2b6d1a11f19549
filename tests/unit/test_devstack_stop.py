"""``scripts/dev`` says what stopping does to its state directory, and does exactly that."""

from __future__ import annotations

from pathlib import Path

from vaultsync_devstack.cli import discard_state, stop_notice


def test_a_temporary_state_directory_is_removed(tmp_path: Path) -> None:
    state = tmp_path / "vaultsync-devstack-x"
    (state / "kube").mkdir(parents=True)
    (state / "openbao").mkdir()
    (state / "openbao" / "root-token").write_text("t")
    assert f"state directory {state} is removed" in stop_notice(state, kept=False)
    assert discard_state(state, kept=False) == f"removed {state}"
    assert not state.exists()


def test_a_state_directory_named_with_state_is_kept(tmp_path: Path) -> None:
    state = tmp_path / "mine"
    state.mkdir()
    assert f"stays in {state}" in stop_notice(state, kept=True)
    assert discard_state(state, kept=True) == f"state kept in {state}"
    assert state.exists()
