"""The contract every writable backend honours, run unchanged against each real server."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from contract.conftest import Target
from contract.documents import SECRET_TYPES, document_for
from vaultsync.backends.errors import Conflict, NotFound, NotOwned, Unavailable
from vaultsync.backends.interface import CreatesNew

pytestmark = pytest.mark.stack

OWNER = "team-a/db-credentials"
OTHER_OWNER = "team-b/stolen"


@pytest.mark.parametrize("secret_type", SECRET_TYPES, ids=SECRET_TYPES)
def test_round_trip_of_every_secret_type(target: Target, secret_type: str) -> None:
    path = target.path_for(f"rt-{secret_type}")
    document = document_for(secret_type)
    version = target.backend.write(path, secret_type, document, owner=OWNER, expected_version=None)
    remote = target.backend.read(path)
    assert remote.document == document
    assert remote.version == version
    assert remote.metadata.managed
    assert remote.metadata.owner == OWNER
    assert remote.metadata.secret_type in (secret_type, None)


def test_rewrite_with_current_version_gives_a_new_version(target: Target) -> None:
    path = target.path_for("rewrite")
    first = target.backend.write(
        path, "generic", document_for("generic", "1"), owner=OWNER, expected_version=None
    )
    second = target.backend.write(
        path, "generic", document_for("generic", "2"), owner=OWNER, expected_version=first
    )
    assert second != first
    assert target.backend.read(path).document == document_for("generic", "2")
    third = target.backend.write(
        path, "generic", document_for("generic", "3"), owner=OWNER, expected_version=None
    )
    assert third not in (first, second)


def test_compare_and_set_conflict(target: Target) -> None:
    path = target.path_for("cas")
    first = target.backend.write(
        path, "generic", document_for("generic", "1"), owner=OWNER, expected_version=None
    )
    target.backend.write(path, "generic", document_for("generic", "2"), owner=OWNER, expected_version=first)
    with pytest.raises(Conflict):
        target.backend.write(
            path, "generic", document_for("generic", "stale"), owner=OWNER, expected_version=first
        )
    assert target.backend.read(path).document == document_for("generic", "2")


def test_expected_version_on_a_missing_secret_conflicts(target: Target) -> None:
    path = target.path_for("cas-missing")
    with pytest.raises(Conflict):
        target.backend.write(path, "generic", document_for("generic"), owner=OWNER, expected_version="1")
    with pytest.raises(NotFound):
        target.backend.read(path)


def test_ownership_refusal_and_explicit_adoption(target: Target) -> None:
    path = target.path_for("foreign")
    foreign = document_for("basic-auth", "theirs")
    target.plant_foreign(path, foreign)
    assert not target.backend.read(path).metadata.managed
    with pytest.raises(NotOwned):
        target.backend.write(
            path, "basic-auth", document_for("basic-auth"), owner=OWNER, expected_version=None
        )
    with pytest.raises(NotOwned):
        target.backend.delete(path, owner=OWNER)
    assert target.backend.read(path).document == foreign

    target.backend.write(
        path, "basic-auth", document_for("basic-auth"), owner=OWNER, expected_version=None, adopt=True
    )
    adopted = target.backend.read(path)
    assert (adopted.metadata.managed, adopted.metadata.owner) == (True, OWNER)
    assert adopted.document == document_for("basic-auth")


def test_another_owner_is_refused(target: Target) -> None:
    path = target.path_for("owned")
    target.backend.write(path, "generic", document_for("generic"), owner=OWNER, expected_version=None)
    with pytest.raises(NotOwned):
        target.backend.write(
            path, "generic", document_for("generic", "x"), owner=OTHER_OWNER, expected_version=None
        )
    with pytest.raises(NotOwned):
        target.backend.delete(path, owner=OTHER_OWNER)
    assert target.backend.read(path).document == document_for("generic")


def test_soft_delete_restore_and_retention(target: Target) -> None:
    path = target.path_for("soft")
    document = document_for("api-key")
    target.backend.write(path, "api-key", document, owner=OWNER, expected_version=None)
    result = target.backend.delete(path, owner=OWNER, recovery_days=7)
    with pytest.raises(NotFound):
        target.backend.read(path)
    assert result.restorable == target.backend.capabilities.soft_delete
    if not result.restorable:
        with pytest.raises(NotFound):
            target.backend.restore(path)
        return
    if result.restorable_until is not None:
        window = result.restorable_until - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=6) < window <= dt.timedelta(days=7, minutes=5)
    target.backend.restore(path)
    assert target.backend.read(path).document == document


def test_create_without_a_read_takes_only_a_free_name(target: Target) -> None:
    """A backend that creates without reading first (``CreatesNew``) never touches what holds the
    name: a live copy of ours, another's secret, or a soft-deleted copy."""
    backend = target.backend
    if not isinstance(backend, CreatesNew):
        pytest.skip(f"{target.name} reads before it creates")
    fresh = target.path_for("create-fresh")
    version = backend.create(fresh, "api-key", document_for("api-key"), owner=OWNER)
    created = backend.read(fresh)
    assert (created.document, created.version) == (document_for("api-key"), version)
    assert (created.metadata.managed, created.metadata.owner) == (True, OWNER)
    with pytest.raises(Conflict):
        backend.create(fresh, "api-key", document_for("api-key", "again"), owner=OWNER)
    assert backend.read(fresh).version == version

    foreign = target.path_for("create-foreign")
    target.plant_foreign(foreign, document_for("generic", "theirs"))
    with pytest.raises(Conflict):
        backend.create(foreign, "generic", document_for("generic"), owner=OWNER)
    assert backend.read(foreign).document == document_for("generic", "theirs")

    if not backend.capabilities.soft_delete:
        return
    backend.delete(fresh, owner=OWNER, recovery_days=7)
    with pytest.raises(Conflict):
        backend.create(fresh, "api-key", document_for("api-key", "again"), owner=OWNER)
    backend.restore(fresh, owner=OWNER)
    assert backend.read(fresh).document == document_for("api-key"), "the soft-deleted copy comes back"


def test_purge_is_not_restorable(target: Target) -> None:
    path = target.path_for("purge")
    target.backend.write(path, "generic", document_for("generic"), owner=OWNER, expected_version=None)
    result = target.backend.delete(path, owner=OWNER, recovery_days=0)
    assert not result.restorable
    with pytest.raises(NotFound):
        target.backend.read(path)
    with pytest.raises(NotFound):
        target.backend.restore(path)


def test_missing_path_yields_not_found(target: Target) -> None:
    path = target.path_for("never-written")
    with pytest.raises(NotFound):
        target.backend.read(path)
    with pytest.raises(NotFound):
        target.backend.delete(path, owner=OWNER)


def test_change_listing_returns_exactly_the_changed_secrets(target: Target) -> None:
    paths = [target.path_for(f"many-{i:03d}") for i in range(120)]
    versions = {
        path: target.backend.write(
            path, "generic", document_for("generic", path), owner=OWNER, expected_version=None
        )
        for path in paths
    }
    first = target.backend.list_changes(None, paths)
    assert first.changed == frozenset(paths)
    assert target.backend.list_changes(first.marker, paths).changed == frozenset()

    rewritten, deleted = paths[3:8], paths[50]
    created = target.path_for("many-new")
    for path in rewritten:
        target.backend.write(
            path, "generic", document_for("generic", "v2"), owner=OWNER, expected_version=versions[path]
        )
    target.backend.delete(path=deleted, owner=OWNER)
    target.backend.write(created, "generic", document_for("generic"), owner=OWNER, expected_version=None)

    later = target.backend.list_changes(first.marker, [*paths, created])
    assert later.changed == frozenset([*rewritten, deleted, created])
    assert target.backend.list_changes(later.marker, [*paths, created]).changed == frozenset()


def test_stopped_server_yields_unavailable_and_nothing_half_written(target: Target) -> None:
    path = target.path_for("outage")
    first = target.backend.write(
        path, "generic", document_for("generic", "1"), owner=OWNER, expected_version=None
    )
    with target.stopped():
        with pytest.raises(Unavailable):
            target.backend.write(
                path, "generic", document_for("generic", "2"), owner=OWNER, expected_version=first
            )
        with pytest.raises(Unavailable):
            target.backend.read(path)
    try:
        after = target.backend.read(path)
    except NotFound:
        return  # an in-memory server lost everything on restart: nothing half-written either
    assert after.document == document_for("generic", "1")
    assert after.version == first


def test_racing_writers_with_the_same_expected_version(target: Target) -> None:
    path = target.path_for("race")
    first = target.backend.write(
        path, "generic", document_for("generic", "0"), owner=OWNER, expected_version=None
    )

    def attempt(i: int) -> str | None:
        try:
            target.backend.write(
                path, "generic", document_for("generic", str(i)), owner=OWNER, expected_version=first
            )
        except Conflict:
            return None
        return str(i)

    with ThreadPoolExecutor(4) as pool:
        winners = [w for w in pool.map(attempt, range(1, 5)) if w is not None]
    if target.backend.capabilities.atomic_compare_and_set:
        assert len(winners) == 1
    else:
        assert len(winners) >= 1
    assert target.backend.read(path).document in [document_for("generic", w) for w in winners]
