"""Ownership checks, change comparison, credentials repr and error bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.backends.errors import MAX_MESSAGE_LENGTH, InvalidConfig, NotOwned, PermissionDenied
from vaultsync.backends.interface import (
    ChangeMarker,
    Credentials,
    changes_between,
    check_ownership,
    metadata_from_marks,
    ownership_marks,
)
from vaultsync.backends.paths import check_path, join_path

OWNER = "ns/name"


@pytest.mark.parametrize(
    ("marks", "owner", "adopt", "refused"),
    [
        pytest.param(ownership_marks(OWNER), OWNER, False, False, id="ours"),
        pytest.param({}, OWNER, False, True, id="unmarked"),
        pytest.param({}, OWNER, True, False, id="unmarked-adopted"),
        pytest.param(ownership_marks("ns/other"), OWNER, False, True, id="another-owner"),
        pytest.param(ownership_marks("ns/other"), OWNER, True, False, id="another-owner-adopted"),
        pytest.param(
            {"managed-by": "helm", "vaultsync.io/owner": OWNER}, OWNER, False, True, id="other-manager"
        ),
    ],
)
def test_ownership(marks: dict[str, str], owner: str, adopt: bool, refused: bool) -> None:
    metadata = metadata_from_marks(marks)
    if refused:
        with pytest.raises(NotOwned):
            check_ownership("p", metadata, owner, adopt=adopt)
    else:
        check_ownership("p", metadata, owner, adopt=adopt)


tokens = st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["1", "2", "3"]))


@given(old=tokens, new=tokens)
def test_changes_are_exactly_the_differing_paths(old: dict[str, str], new: dict[str, str]) -> None:
    result = changes_between(ChangeMarker(old), new)
    expected = {p for p in set(old) | set(new) if old.get(p) != new.get(p)}
    assert result.changed == expected
    assert changes_between(result.marker, new).changed == frozenset()


@given(old=tokens, new=tokens, scope=st.sets(st.sampled_from("abcdefgh")))
def test_scoped_changes_never_leave_the_scope(
    old: dict[str, str], new: dict[str, str], scope: set[str]
) -> None:
    scoped_new = {p: t for p, t in new.items() if p in scope}
    assert changes_between(ChangeMarker(old), scoped_new, scope).changed <= scope


def test_first_listing_reports_everything_present() -> None:
    assert changes_between(None, {"a": "1", "b": "2"}).changed == {"a", "b"}


def test_credentials_repr_shows_keys_only() -> None:
    credentials = Credentials({"token": "hvs.very-secret"})
    assert "very-secret" not in repr(credentials)
    assert "token" in repr(credentials)
    assert credentials["token"] == "hvs.very-secret"


def test_messages_are_bounded() -> None:
    error = PermissionDenied("x" * 10_000, missing=["read on a"])
    assert len(str(error)) == MAX_MESSAGE_LENGTH
    assert error.missing == ["read on a"]


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("a", True),
        ("/a/b/", True),
        ("a/../b", False),
        ("a//b", False),
        ("./a", False),
        ("", False),
        ("/", False),
    ],
    ids=["plain", "slashes-trimmed", "dotdot", "empty-segment", "dot", "empty", "root"],
)
def test_paths(path: str, ok: bool) -> None:
    if ok:
        assert join_path("prefix", path) == f"prefix/{path.strip('/')}"
        assert check_path(path) == path.strip("/")
    else:
        with pytest.raises(InvalidConfig):
            check_path(path)
