"""Version records and the bounded history of status.versions[]."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secret_material import PROPERTY

from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.versions import VersionRecord, append_version, next_version_number

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fingerprint(n: int) -> str:
    return f"hmac-sha256:{n:064x}"


def record(version: int, n: int | None = None, profile: str = "vault-a") -> VersionRecord:
    return VersionRecord(
        version=version,
        fingerprint=fingerprint(version if n is None else n),
        vault_profile=profile,
        source_version=str(version + 40),
        created_at=T0 + timedelta(minutes=version),
    )


def test_status_dict_is_camel_case_and_round_trips() -> None:
    entry = record(3).to_status()
    assert entry == {
        "version": 3,
        "fingerprint": fingerprint(3),
        "vaultProfile": "vault-a",
        "sourceVersion": "43",
        "createdAt": "2026-03-01T12:03:00Z",
    }
    assert VersionRecord.from_status(entry) == record(3)


def test_source_version_is_optional_and_numbers_are_read_as_strings() -> None:
    entry = {
        "version": 1,
        "fingerprint": fingerprint(1),
        "vaultProfile": "p",
        "createdAt": "2026-03-01T12:00:00Z",
    }
    assert VersionRecord.from_status(entry).source_version is None
    assert "sourceVersion" not in VersionRecord.from_status(entry).to_status()
    assert VersionRecord.from_status(entry | {"sourceVersion": 7}).source_version == "7"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        pytest.param(
            {"fingerprint": fingerprint(1), "vaultProfile": "p", "createdAt": "2026-03-01T12:00:00Z"},
            "version",
            id="missing-version",
        ),
        pytest.param(
            {
                "version": 0,
                "fingerprint": fingerprint(1),
                "vaultProfile": "p",
                "createdAt": "2026-03-01T12:00:00Z",
            },
            "version",
            id="zero-version",
        ),
        pytest.param(
            {
                "version": True,
                "fingerprint": fingerprint(1),
                "vaultProfile": "p",
                "createdAt": "2026-03-01T12:00:00Z",
            },
            "version",
            id="bool-version",
        ),
        pytest.param(
            {
                "version": 1,
                "fingerprint": "sha256:abc",
                "vaultProfile": "p",
                "createdAt": "2026-03-01T12:00:00Z",
            },
            "fingerprint",
            id="bare-hash",
        ),
        pytest.param(
            {
                "version": 1,
                "fingerprint": fingerprint(1),
                "vaultProfile": "",
                "createdAt": "2026-03-01T12:00:00Z",
            },
            "vaultProfile",
            id="empty-profile",
        ),
        pytest.param(
            {"version": 1, "fingerprint": fingerprint(1), "vaultProfile": "p", "createdAt": "yesterday"},
            "createdAt",
            id="bad-time",
        ),
    ],
)
def test_bad_status_entries_name_the_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ContentError) as caught:
        VersionRecord.from_status(entry)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param([], 1, id="empty"),
        pytest.param([record(1)], 2, id="one"),
        pytest.param([record(7), record(5)], 8, id="unordered-trimmed"),
    ],
)
def test_next_version_number(history: list[VersionRecord], expected: int) -> None:
    assert next_version_number(history) == expected


def test_append_keeps_newest_within_limit() -> None:
    history: list[VersionRecord] = []
    for number in range(1, 15):
        history = append_version(history, record(number), limit=10)
    assert [entry.version for entry in history] == list(range(5, 15))
    assert next_version_number(history) == 15


def test_append_of_current_content_is_a_no_op() -> None:
    history = [record(1), record(2)]
    assert append_version(history, record(3, n=2)) == history


def test_append_with_wrong_number_is_rejected() -> None:
    with pytest.raises(ContentError, match="must be 3"):
        append_version([record(1), record(2)], record(5))


def test_same_fingerprint_from_another_profile_is_a_new_version() -> None:
    history = append_version([record(1)], record(2, n=1, profile="vault-b"))
    assert [entry.vault_profile for entry in history] == ["vault-a", "vault-b"]


@PROPERTY
@given(st.lists(st.integers(0, 5), max_size=40), st.integers(1, 12))
def test_history_is_bounded_and_numbers_strictly_increase(fingerprints: list[int], limit: int) -> None:
    history: list[VersionRecord] = []
    for n in fingerprints:
        history = append_version(history, record(next_version_number(history), n=n), limit=limit)
    versions = [entry.version for entry in history]
    assert len(history) <= limit
    assert versions == sorted(set(versions))
    assert all(a.fingerprint != b.fingerprint for a, b in itertools.pairwise(history))
