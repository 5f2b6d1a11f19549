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


def test_registering_a_known_value_again_changes_nothing() -> None:
    register_secret("steady-value")
    forms = redaction.registered_forms()
    register_secret("steady-value")
    assert redaction.registered_forms() == forms
    forget_secret("steady-value")
    assert redaction.registered_forms() == 0


def test_a_form_two_values_share_stays_masked_until_both_are_forgotten() -> None:
    text = "c2hhcmVk"  # the base64 of "shared", registered as a value of its own
    register_secret(text)
    register_secret("shared")
    forget_secret("shared")
    assert redact(text) == MASK
    forget_secret(text)
    assert redact(text) == text


def test_settling_many_holders_forgets_only_what_nobody_holds() -> None:
    ledger = RedactionLedger()
    for i in range(200):
        ledger.add(f"ns/s{i}", [f"value-of-s{i}", "common-value"])
        ledger.settle(f"ns/s{i}")
    for i in range(199):
        ledger.release(f"ns/s{i}")
    assert redact("value-of-s5 common-value value-of-s199") == f"value-of-s5 {MASK} {MASK}"
    ledger.release("ns/s199")
    assert redaction.registered_forms() == 0
