"""Author records: only what the webhook sealed for exactly this spec and object is trusted."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from vaultsync.reconcile.authorship import (
    AUTHOR_ANNOTATION,
    Author,
    author_annotation,
    author_record,
    verified_author,
)

KEY = b"k" * 32
ALICE = Author("alice", ("system:authenticated", "vaultsync:developers"))


def body(spec: dict[str, Any] | None = None, name: str = "s", record: str | None = None) -> dict[str, Any]:
    annotations = {AUTHOR_ANNOTATION: record} if record is not None else {}
    return {
        "metadata": {"namespace": "team-a", "name": name, "annotations": annotations},
        "spec": spec or {"a": 1},
    }


def sealed(obj: dict[str, Any], who: Author = ALICE, kind: str = "ManagedSecret") -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["annotations"][AUTHOR_ANNOTATION] = author_record(KEY, kind, obj, who)
    return obj


def test_a_sealed_record_verifies() -> None:
    assert verified_author(KEY, "ManagedSecret", sealed(body())) == ALICE


def tampered_user(obj: dict[str, Any]) -> None:
    record = json.loads(obj["metadata"]["annotations"][AUTHOR_ANNOTATION])
    record["user"] = "admin"
    obj["metadata"]["annotations"][AUTHOR_ANNOTATION] = json.dumps(record)


def tampered_groups(obj: dict[str, Any]) -> None:
    record = json.loads(obj["metadata"]["annotations"][AUTHOR_ANNOTATION])
    record["groups"] = ["system:masters"]
    obj["metadata"]["annotations"][AUTHOR_ANNOTATION] = json.dumps(record)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda o: o["spec"].update(a=2), id="spec-changed-without-webhook"),
        pytest.param(lambda o: o["metadata"].update(name="other"), id="copied-to-another-object"),
        pytest.param(lambda o: o["metadata"].update(namespace="team-b"), id="copied-to-another-namespace"),
        pytest.param(tampered_user, id="user-edited"),
        pytest.param(tampered_groups, id="groups-edited"),
        pytest.param(lambda o: o["metadata"]["annotations"].update({AUTHOR_ANNOTATION: "{"}), id="garbage"),
        pytest.param(lambda o: o["metadata"]["annotations"].clear(), id="absent"),
    ],
)
def test_a_changed_or_forged_record_is_not_trusted(change: Any) -> None:
    obj = sealed(body())
    change(obj)
    assert verified_author(KEY, "ManagedSecret", obj) is None


def test_another_key_or_kind_does_not_verify() -> None:
    obj = sealed(body())
    assert verified_author(b"x" * 32, "ManagedSecret", obj) is None
    assert verified_author(KEY, "VaultProfile", obj) is None


def test_webhook_records_a_spec_change_and_keeps_the_record_otherwise() -> None:
    old = sealed(body())
    bob = Author("bob")
    changed = body({"a": 2}, record="forged")
    value = author_annotation("ManagedSecret", "UPDATE", old, changed, who=bob, key=KEY)
    changed["metadata"]["annotations"][AUTHOR_ANNOTATION] = value
    assert verified_author(KEY, "ManagedSecret", changed) == bob
    relabelled = body(record="forged")
    kept = author_annotation("ManagedSecret", "UPDATE", old, relabelled, who=bob, key=KEY)
    assert kept == old["metadata"]["annotations"][AUTHOR_ANNOTATION]
    assert author_annotation("ManagedSecret", "UPDATE", body(), body(record="x"), who=bob, key=KEY) is None
