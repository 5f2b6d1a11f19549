"""The ledger of registered values: masked while someone holds them, forgotten when nobody does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vaultsync.secrets import redaction
from vaultsync.secrets.redaction import MASK, RedactionLedger, forget_secret, redact, register_secret


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    redaction.clear_registered_secrets()
    yield
    redaction.clear_registered_secrets()


def test_a_value_is_masked_from_the_moment_it_is_added() -> None:
    ledger = RedactionLedger()
    ledger.add("ns/a", ["first-secret"])
    assert redact("error: first-secret") == f"error: {MASK}"


def test_settle_forgets_what_a_holder_no_longer_has() -> None:
    ledger = RedactionLedger()
    ledger.add("ns/a", ["old-value-1"])
    ledger.settle("ns/a")
    ledger.add("ns/a", ["new-value-2"])
    ledger.settle("ns/a")
    assert redact("old-value-1 new-value-2") == f"old-value-1 {MASK}"
    assert ledger.holds("ns/a") == {"new-value-2"}


def test_a_value_another_holder_still_has_stays_masked() -> None:
    ledger = RedactionLedger()
    ledger.add("ns/a", ["shared-value"])
    ledger.add("ns/b", ["shared-value"])
    ledger.settle("ns/a")
    ledger.settle("ns/b")
    ledger.release("ns/a")
    assert redact("shared-value") == MASK
    ledger.release("ns/b")
    assert redact("shared-value") == "shared-value"
    assert ledger.holds("ns/b") == frozenset()


def test_forget_removes_every_form() -> None:
    register_secret("p@ss\nword")
    forget_secret("p@ss\nword")
    assert redact(repr("p@ss\nword")) == repr("p@ss\nword")


def test_registering_a_known_value_again_keeps_the_compiled_pattern() -> None:
    register_secret("steady-value")
    redact("x")
    pattern = redaction._pattern
    register_secret("steady-value")
    assert redaction._pattern is pattern
