"""The reference index: a referenced ManagedSecret's new content wakes exactly its dependents."""

from __future__ import annotations

from vaultsync.handlers.references import ReferenceIndex


def test_only_dependents_of_the_moved_secret_in_its_namespace_wake() -> None:
    index = ReferenceIndex()
    assert index.observe(("a", "db"), frozenset(), "f1|Active", False) == set()
    assert index.observe(("a", "app"), frozenset({"db"}), "x|Active", False) == set()
    assert index.observe(("a", "job"), frozenset({"db", "cache"}), "y|Active", False) == set()
    assert index.observe(("b", "app"), frozenset({"db"}), "z|Active", False) == set()
    assert index.observe(("a", "db"), frozenset(), "f1|Active", False) == set(), "an echo wakes nobody"
    assert index.observe(("a", "db"), frozenset(), "f2|Active", False) == {"a/app", "a/job"}
    assert index.observe(("a", "cache"), frozenset(), "c1|Active", False) == set()
    assert index.observe(("a", "cache"), frozenset(), "c2|Active", False) == {"a/job"}


def test_a_dropped_reference_and_a_deleted_dependent_are_forgotten() -> None:
    index = ReferenceIndex()
    index.observe(("a", "db"), frozenset(), "f1", False)
    index.observe(("a", "app"), frozenset({"db"}), "x", False)
    index.observe(("a", "job"), frozenset({"db"}), "y", False)
    index.observe(("a", "app"), frozenset(), "x", False)
    index.observe(("a", "job"), frozenset({"db"}), "y", True)
    assert index.observe(("a", "db"), frozenset(), "f2", False) == set()


def test_a_deleted_referenced_secret_wakes_its_dependents() -> None:
    index = ReferenceIndex()
    index.observe(("a", "db"), frozenset(), "f1", False)
    index.observe(("a", "app"), frozenset({"db"}), "x", False)
    assert index.observe(("a", "db"), frozenset(), "f1", True) == {"a/app"}
