"""The operator limits glibc's malloc arenas, unless the environment already does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vaultsync import malloc_arenas


def test_the_limit_is_set_through_mallopt_in_a_fresh_process() -> None:
    # A process of its own: mallopt changes the process for good.
    code = "from vaultsync.malloc_arenas import limit_malloc_arenas; print(limit_malloc_arenas())"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "True"


def test_malloc_arena_max_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc_arenas.limit_malloc_arenas() is False
