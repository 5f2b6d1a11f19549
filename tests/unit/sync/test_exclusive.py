"""A sync in flight finishes before the copies are deleted, and no sync runs after the deletion."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from vaultsync.sync.exclusive import ResourceGuard, serialized_per_resource


class Resource:
    """Records the order in which guarded calls touch one resource's copies."""

    def __init__(self) -> None:
        self.guard = ResourceGuard()
        self.journal: list[str] = []
        self.sync_started = threading.Event()
        self.release_sync = threading.Event()

    @serialized_per_resource(body_at=1, when_retired=lambda body: "skipped")
    def sync(self, body: Mapping[str, Any]) -> str:
        self.sync_started.set()
        self.release_sync.wait(5)
        self.journal.append("sync wrote")
        return "synced"

    @serialized_per_resource(body_at=1, retire=True)
    def delete(self, body: Mapping[str, Any]) -> str:
        self.journal.append("deleted")
        return "deleted"


def _body(uid: str) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "namespace": "ns", "name": "db"}}


def test_deletion_waits_for_the_sync_in_flight_and_later_syncs_are_skipped() -> None:
    resource, body = Resource(), _body("uid-race")
    syncing = threading.Thread(target=resource.sync, args=(body,))
    syncing.start()
    assert resource.sync_started.wait(5)
    deleting = threading.Thread(target=resource.delete, args=(body,))
    deleting.start()
    # The deletion has asked for the resource's lock (two holders registered) and waits on it.
    deadline = time.monotonic() + 5
    while resource.guard._locks.get("uid-race", (None, 0))[1] < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert resource.guard._locks["uid-race"][1] == 2
    assert resource.journal == [], "the deletion must wait for the sync in flight"
    resource.release_sync.set()
    syncing.join(5)
    deleting.join(5)
    assert resource.journal == ["sync wrote", "deleted"]
    assert resource.sync(body) == "skipped"
    assert resource.journal == ["sync wrote", "deleted"]


@pytest.mark.parametrize(
    ("deleted_uid", "synced_uid", "expected"),
    [
        pytest.param("uid-a", "uid-a", "skipped", id="same-uid-retired"),
        pytest.param("uid-b", "uid-c", "synced", id="recreated-resource-has-a-new-uid"),
    ],
)
def test_only_the_deleted_uid_is_retired(deleted_uid: str, synced_uid: str, expected: str) -> None:
    resource = Resource()
    resource.release_sync.set()
    resource.delete(_body(deleted_uid))
    assert resource.sync(_body(synced_uid)) == expected


def test_retired_uids_are_bounded_oldest_first() -> None:
    guard = ResourceGuard(remembered=2)
    for uid in ("one", "two", "three"):
        guard.retire(uid)
    assert [guard.retired(uid) for uid in ("one", "two", "three")] == [False, True, True]


def test_locks_are_dropped_when_nobody_holds_them() -> None:
    guard = ResourceGuard()
    with guard.hold("x"), guard.hold("y"):
        pass
    assert guard._locks == {}
