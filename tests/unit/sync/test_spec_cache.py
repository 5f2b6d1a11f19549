"""A ManagedSecret spec is parsed once per (uid, generation), the cache stays bounded, and a spec
the model does not fit fails the same way for its whole generation without being parsed again."""

from __future__ import annotations

from typing import Any

import pytest

from typed_spec import MINIMAL
from vaultsync.api.codec import ModelError
from vaultsync.api.managedsecret import ManagedSecretSpec
from vaultsync.sync import spec_cache
from vaultsync.sync.spec_cache import SpecCache


def _body(uid: str | None = "u-1", generation: int | None = 1, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"namespace": "ns", "name": "s"}
    if uid is not None:
        metadata["uid"] = uid
    if generation is not None:
        metadata["generation"] = generation
    return {"metadata": metadata, "spec": {**MINIMAL, **spec}}


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source paths of every spec really parsed (not answered from the cache)."""
    seen: list[str] = []
    parse = spec_cache.parse_spec

    def counted(body: Any) -> ManagedSecretSpec:
        seen.append(str((body.get("spec") or {}).get("source", {}).get("path")))
        return parse(body)

    monkeypatch.setattr(spec_cache, "parse_spec", counted)
    return seen


def test_the_same_uid_and_generation_is_parsed_once(parses: list[str]) -> None:
    cache = SpecCache()
    first = cache.parse(_body())
    again = cache.parse(_body(status={"phase": "Synced"}))  # a status write keeps the generation
    assert again is first
    assert parses == ["x"]
    assert first.source.path == "x"


def test_a_new_generation_is_parsed_again_and_replaces_the_old_one(parses: list[str]) -> None:
    cache = SpecCache()
    cache.parse(_body(generation=1))
    moved = cache.parse(_body(generation=2, source={"vaultProfile": {"name": "p"}, "path": "moved"}))
    assert moved.source.path == "moved"
    assert parses == ["x", "moved"]
    assert len(cache) == 1, "one entry per object: an old generation is never asked for again"


def test_the_cache_is_bounded_and_drops_the_least_recently_used(parses: list[str]) -> None:
    cache = SpecCache(size=2)
    for uid in ("a", "b"):
        cache.parse(_body(uid=uid))
    cache.parse(_body(uid="a"))  # a is used again: b is now the oldest
    cache.parse(_body(uid="c"))
    assert len(cache) == 2
    parsed = len(parses)
    cache.parse(_body(uid="a"))
    cache.parse(_body(uid="c"))
    assert len(parses) == parsed, "a and c were kept"
    cache.parse(_body(uid="b"))
    assert len(parses) == parsed + 1, "b was dropped and is parsed again"
    assert len(cache) == 2


def test_a_spec_that_does_not_fit_fails_with_its_field_path_for_its_whole_generation(
    parses: list[str],
) -> None:
    cache = SpecCache()
    unfit = _body(syncTargets=[{"vaultProfile": {"name": "copy"}}])  # an older CRD let it in
    for _ in range(2):
        with pytest.raises(ModelError) as raised:
            cache.parse(unfit)
        assert raised.value.path == "spec.syncTargets[0].path"
        assert raised.value.problem == "is required"
    assert parses == ["x"], "the same generation is not parsed again"
    fixed = _body(generation=2, syncTargets=[{"vaultProfile": {"name": "copy"}, "path": "copy"}])
    assert cache.parse(fixed).sync_targets[0].path == "copy"


def test_a_value_in_an_unfit_field_is_never_in_the_error() -> None:
    with pytest.raises(ModelError) as raised:
        SpecCache().parse(_body(adopt="s3cr3t-value"))
    assert raised.value.path == "spec.adopt"
    assert "s3cr3t-value" not in str(raised.value)


def test_a_body_without_uid_or_generation_is_parsed_every_time(parses: list[str]) -> None:
    cache = SpecCache()
    for body in (_body(uid=None), _body(generation=None), _body(uid=None)):
        cache.parse(body)
    assert len(parses) == 3
    assert len(cache) == 0


def test_a_cache_holds_at_least_one_spec() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SpecCache(size=0)
