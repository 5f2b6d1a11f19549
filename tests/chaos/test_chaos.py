"""Faults on the real operator: kills, a change storm, an apiserver restart, vault outages, a rival writer.

Every test ends with the same proof (``Chaos.assert_exact``): every target holds exactly the
source's content, each change made exactly one new version, no custom staging label is left
on any AWS version, the operator log has no traceback, and it all converged within the bound.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from chaos.conftest import Chaos
from e2e.scenario import secrets_manager
from e2e.support import wait_for
from faultproxy import Mode

pytestmark = pytest.mark.stack

SECRETS = 8


def _synced(chaos: Chaos, count: int = SECRETS) -> list[str]:
    names = chaos.create_secrets(count)
    chaos.wait_converged(names, what="at version 1")
    return names


def _syncing_started(chaos: Chaos, names: list[str]) -> bool:
    """True once at least one secret's targets already show the change (the sync is under way)."""
    for name in names:
        data = chaos.cluster.core.read_namespaced_secret(name, chaos.ns).data or {}
        if data and chaos.converged(name):
            return True
    return False


def test_sigkill_mid_sync_loses_nothing_and_writes_each_change_once(chaos: Chaos) -> None:
    names = _synced(chaos)
    for name in names:
        chaos.set_source(name)
    wait_for(lambda: _syncing_started(chaos, names), 120, "the syncs of the change under way")
    chaos.kill()
    chaos.operator.start()
    chaos.wait_converged(names, what="after SIGKILL and restart")
    chaos.assert_exact(names)


def test_change_storm_with_sigkill_ends_with_the_last_content(chaos: Chaos) -> None:
    names = _synced(chaos)
    written: dict[str, set[str]] = {name: {chaos.expected[name]} for name in names}
    for _ in range(3):
        for name in names:
            written[name].add(chaos.set_source(name, new_version=False))
    chaos.kill()
    for name in names:
        written[name].add(chaos.set_source(name, new_version=False))
    chaos.operator.start()
    # A storm coalesces: a content replaced before any sync saw it makes no version. The last
    # one must arrive, and no version may be made of anything but written content.
    wait_for(lambda: all(_holds_last(chaos, n) for n in names), 240, "the storm's last contents everywhere")
    for name in names:
        version = chaos.cluster.get("managedsecrets", name)["status"]["currentVersion"]
        assert 2 <= version <= 5, version
        chaos.changes[name] = version
    chaos.assert_exact(names, written)


def _holds_last(chaos: Chaos, name: str) -> bool:
    status = chaos.cluster.get("managedsecrets", name).get("status") or {}
    if status.get("phase") != "Synced":
        return False
    chaos.changes[name] = int(status.get("currentVersion") or 0)
    return chaos.converged(name)


@pytest.mark.parametrize("vault", ["openbao", "moto"])
@pytest.mark.parametrize("mode", [Mode.REFUSE, Mode.HANG], ids=["refused", "hung"])
def test_vault_outage_and_recovery(chaos: Chaos, vault: str, mode: Mode) -> None:
    names = _synced(chaos)
    proxy = chaos.bao_proxy if vault == "openbao" else chaos.aws_proxy
    with proxy.cut(mode):
        for name in names:
            chaos.set_source(name)  # the test writes OpenBao directly; the operator cannot reach it
        wait_for(
            lambda: any(
                (chaos.cluster.get("managedsecrets", n).get("status") or {}).get("phase") == "Failed"
                for n in names
            ),
            120,
            "the outage seen by the operator",
        )
    healed = time.monotonic()
    chaos.wait_converged(names, what=f"after the {vault} outage")
    chaos.assert_exact(names)
    print(f"{vault} {mode.value}: converged {time.monotonic() - healed:.1f}s after the outage ended")


def test_apiserver_restart(chaos: Chaos) -> None:
    names = _synced(chaos)
    apiserver = next(p for p in chaos.cluster.kube.processes if p.name == "kube-apiserver")
    with apiserver.stopped():
        for name in names:
            chaos.set_source(name)
        time_down = time.monotonic()
        wait_for(lambda: time.monotonic() - time_down > 10 or not chaos.operator.running, 30, "an outage")
    assert chaos.operator.running, "the operator survives an apiserver restart"
    chaos.wait_converged(names, what="after the apiserver restart")
    chaos.assert_exact(names)


def test_a_concurrent_writer_is_overwritten_and_leaves_no_label(chaos: Chaos) -> None:
    names = _synced(chaos)
    rival = secrets_manager(chaos.moto)
    stop = threading.Event()
    rival_writes = 0

    def write_over() -> None:
        nonlocal rival_writes
        while not stop.is_set():
            for name in names:
                rival.put_secret_value(
                    SecretId=chaos.aws_path(name), SecretString=json.dumps({"apiKey": "rival"})
                )
                rival_writes += 1
            stop.wait(0.5)

    writer = threading.Thread(target=write_over, daemon=True)
    writer.start()
    try:
        for name in names:
            chaos.set_source(name)
        wait_for(lambda: rival_writes >= 3 * len(names), 120, "the rival wrote over every copy")
    finally:
        stop.set()
        writer.join(30)
    for name in names:  # a plain put after the operator's last write must still show as drift
        rival.put_secret_value(SecretId=chaos.aws_path(name), SecretString=json.dumps({"apiKey": "rival"}))
    chaos.wait_converged(names, what="after the rival stopped")
    chaos.assert_exact(names)
