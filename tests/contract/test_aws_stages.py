"""Staging labels on moto: a compare-and-set write leaves no custom label, and another client's
plain ``PutSecretValue`` after it is still seen as a change (drift), whatever moto does.

The Secrets Manager API reference: a label is on at most one version; ``PutSecretValue``
without ``VersionStages`` moves ``AWSCURRENT`` to the new version (``AWSPREVIOUS`` to the old);
``UpdateSecretVersionStage`` with only ``RemoveFromVersionId`` takes a label off a version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.scenario import secrets_manager
from vaultsync.backends.aws import PENDING, AwsBackend
from vaultsync.backends.errors import Conflict, NotFound
from vaultsync.backends.interface import Credentials
from vaultsync.backends.registry import create_backend
from vaultsync_devstack.vaults import Moto

pytestmark = pytest.mark.stack

OWNER = "team-a/app"
AWS_LABELS = {"AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"}


@pytest.fixture
def backend(moto: Moto) -> Iterator[AwsBackend]:
    built = create_backend(
        "aws",
        {"region": moto.region, "endpoint": moto.endpoint, "auth": {"accessKey": {}}},
        Credentials({"accessKeyId": moto.access_key_id, "secretAccessKey": moto.secret_access_key}),
    )
    assert isinstance(built, AwsBackend)
    yield built
    built.close()


@pytest.fixture
def raw(moto: Moto) -> Any:
    return secrets_manager(moto)


def _stages(raw: Any, name: str) -> dict[str, list[str]]:
    return {v: sorted(s) for v, s in raw.describe_secret(SecretId=name)["VersionIdsToStages"].items()}


def _custom_labels(raw: Any, name: str) -> set[str]:
    return {label for stages in _stages(raw, name).values() for label in stages} - AWS_LABELS


def _path() -> str:
    return f"stages-{uuid.uuid4().hex[:10]}/db"


def test_a_compare_and_set_write_leaves_no_custom_label(backend: AwsBackend, raw: Any) -> None:
    path = _path()
    first = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    second = backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=first)
    third = backend.write(path, "key-value", {"v": "3"}, owner=OWNER, expected_version=second)
    assert _custom_labels(raw, path) == set()
    stages = _stages(raw, path)
    assert stages[third] == ["AWSCURRENT"]
    assert stages[second] == ["AWSPREVIOUS"]
    assert [v for v, s in stages.items() if "AWSCURRENT" in s] == [third]


def test_a_lost_compare_and_set_leaves_no_custom_label_and_changes_nothing(
    backend: AwsBackend, raw: Any
) -> None:
    path = _path()
    first = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    second = backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=first)
    with pytest.raises(Conflict):
        backend.write(path, "key-value", {"v": "stale"}, owner=OWNER, expected_version=first)
    assert _custom_labels(raw, path) == set()
    assert backend.read(path).version == second


def test_another_clients_plain_put_after_our_write_is_drift(backend: AwsBackend, raw: Any) -> None:
    path = _path()
    first = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    ours = backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=first)
    marker = backend.list_changes(None, [path]).marker
    assert marker.tokens[path] == ours

    theirs = raw.put_secret_value(SecretId=path, SecretString=json.dumps({"v": "edited"}))["VersionId"]

    changes = backend.list_changes(marker, [path])
    assert changes.changed == frozenset([path]), "a plain put by another client must show as a change"
    assert changes.marker.tokens[path] == theirs
    seen = backend.read(path)
    assert (seen.document, seen.version) == ({"v": "edited"}, theirs)

    repaired = backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=seen.version)
    after = backend.read(path)
    assert (after.document, after.version) == ({"v": "2"}, repaired)
    assert backend.list_changes(changes.marker, [path]).changed == frozenset([path])
    assert _custom_labels(raw, path) == set()


def test_a_label_left_by_a_crash_between_put_and_move_is_gone_after_the_next_read(
    backend: AwsBackend, raw: Any
) -> None:
    path = _path()
    backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    # What a write that died after its put (before moving AWSCURRENT) leaves behind.
    raw.put_secret_value(SecretId=path, SecretString=json.dumps({"v": "half"}), VersionStages=[PENDING])
    assert _custom_labels(raw, path) == {PENDING}
    assert backend.read(path).document == {"v": "1"}, "a staged version is not current"
    assert _custom_labels(raw, path) == set()


def test_a_label_left_by_a_crash_after_the_move_is_gone_after_the_next_read(
    backend: AwsBackend, raw: Any
) -> None:
    path = _path()
    first = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    # What a write that died after moving AWSCURRENT (before taking its label off) leaves behind.
    staged = raw.put_secret_value(
        SecretId=path, SecretString=json.dumps({"v": "2"}), VersionStages=[PENDING]
    )["VersionId"]
    raw.update_secret_version_stage(
        SecretId=path, VersionStage="AWSCURRENT", MoveToVersionId=staged, RemoveFromVersionId=first
    )
    assert _custom_labels(raw, path) == {PENDING}
    seen = backend.read(path)
    assert (seen.document, seen.version) == ({"v": "2"}, staged)
    assert _custom_labels(raw, path) == set()


def test_a_write_right_after_a_read_reuses_its_description(backend: AwsBackend) -> None:
    path = _path()
    first = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    seen = backend.read(path)
    backend.calls.reset()
    backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=seen.version)
    assert seen.version == first
    assert backend.calls.snapshot() == {"PutSecretValue": 1, "UpdateSecretVersionStage": 2}


def test_a_write_after_another_clients_put_still_loses_on_the_reused_description(
    backend: AwsBackend, raw: Any
) -> None:
    path = _path()
    backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    seen = backend.read(path)
    raw.put_secret_value(SecretId=path, SecretString=json.dumps({"v": "theirs"}))
    with pytest.raises(Conflict):
        backend.write(path, "key-value", {"v": "2"}, owner=OWNER, expected_version=seen.version)
    assert _custom_labels(raw, path) == set()
    assert backend.read(path).document == {"v": "theirs"}


def test_a_create_right_after_a_read_that_found_nothing_describes_once(backend: AwsBackend) -> None:
    path = _path()
    with pytest.raises(NotFound):
        backend.read(path)
    backend.calls.reset()
    created = backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    assert backend.calls.snapshot() == {"CreateSecret": 1}
    assert backend.read(path).version == created


def test_a_new_copy_costs_one_describe_and_one_create(backend: AwsBackend) -> None:
    """The sync's route for a copy that does not exist: read, restore what may be soft-deleted, create."""
    path = _path()
    backend.calls.reset()
    with pytest.raises(NotFound):
        backend.read(path)
    with pytest.raises(NotFound):
        backend.restore(path, owner=OWNER)
    backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    assert backend.calls.snapshot() == {"DescribeSecret": 1, "CreateSecret": 1}


def test_a_soft_deleted_copy_is_still_restored_after_a_read(backend: AwsBackend, raw: Any) -> None:
    path = _path()
    backend.write(path, "key-value", {"v": "1"}, owner=OWNER, expected_version=None)
    raw.delete_secret(SecretId=path, RecoveryWindowInDays=7)
    with pytest.raises(NotFound):
        backend.read(path)
    backend.restore(path, owner=OWNER)
    assert backend.read(path).document == {"v": "1"}


def test_a_secret_deleted_between_read_and_create_is_not_overwritten(backend: AwsBackend, raw: Any) -> None:
    path = _path()
    with pytest.raises(NotFound):
        backend.read(path)
    raw.create_secret(Name=path, SecretString=json.dumps({"v": "theirs"}))
    raw.delete_secret(SecretId=path, RecoveryWindowInDays=7)
    with pytest.raises(NotFound):
        backend.restore(path, owner=OWNER)  # trusted the read: not restored now
    with pytest.raises(Conflict):
        backend.write(path, "key-value", {"v": "mine"}, owner=OWNER, expected_version=None)
    with pytest.raises(NotFound):
        backend.read(path)  # the next sync finds it deleted, and restore checks its owner
    raw.restore_secret(SecretId=path)
    assert json.loads(raw.get_secret_value(SecretId=path)["SecretString"]) == {"v": "theirs"}


def test_a_create_after_another_client_created_the_secret_still_loses(backend: AwsBackend, raw: Any) -> None:
    path = _path()
    with pytest.raises(NotFound):
        backend.read(path)
    raw.create_secret(Name=path, SecretString=json.dumps({"v": "theirs"}))
    with pytest.raises(Conflict):
        backend.write(path, "key-value", {"v": "mine"}, owner=OWNER, expected_version=None)
    assert json.loads(raw.get_secret_value(SecretId=path)["SecretString"]) == {"v": "theirs"}
