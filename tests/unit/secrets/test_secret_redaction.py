"""Redaction of registered secret values in strings and log records."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from secret_material import PROPERTY

from vaultsync.secrets import redaction
from vaultsync.secrets.content import parse_content
from vaultsync.secrets.redaction import (
    MASK,
    RedactingFilter,
    install_redaction,
    redact,
    register_content,
    register_secret,
)

PASSWORD = "Tr0ub4dor&3-horse"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    redaction.clear_registered_secrets()
    yield
    redaction.uninstall_redaction()
    redaction.clear_registered_secrets()


@pytest.mark.parametrize(
    ("registered", "text"),
    [
        pytest.param(PASSWORD, f"login with {PASSWORD} now", id="plain"),
        pytest.param(PASSWORD, f"data: {base64.b64encode(PASSWORD.encode()).decode()}", id="base64"),
        pytest.param('line1\nline2"q', "payload " + json.dumps({"v": 'line1\nline2"q'}), id="json-escaped"),
        pytest.param("it's\\here", repr({"v": "it's\\here"}), id="repr"),
        pytest.param(
            b"\xff\xfe\x00binary", base64.b64encode(b"\xff\xfe\x00binary").decode(), id="bytes-base64"
        ),
        pytest.param("pässwörd", "pässwörd", id="unicode"),
    ],
)
def test_registered_values_are_masked(registered: str | bytes, text: str) -> None:
    register_secret(registered)
    redacted = redact(text)
    assert MASK in redacted
    if isinstance(registered, str):
        assert registered not in redacted


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abcabc") == "abc abcabc"


def test_longest_value_wins_over_its_prefix() -> None:
    register_secret("secret")
    register_secret("secret-longer")
    assert redact("x secret-longer y") == f"x {MASK} y"


def test_value_logged_on_purpose_comes_out_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    register_content(parse_content("basic-auth", {"username": "admin", "password": PASSWORD}))
    logger = logging.getLogger("vaultsync.test.redaction")
    with caplog.at_level(logging.INFO):
        logger.info("connecting with password %s and %r", PASSWORD, {"password": PASSWORD})
        try:
            raise ValueError(f"bad password {PASSWORD}")
        except ValueError:
            logger.exception("failed")
    output = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert PASSWORD not in output
    assert MASK in output
    assert redact("admin") == "admin"


def test_filter_on_a_logger_masks_its_handlers_output() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("vaultsync.test.filter")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_redaction(logger)
        install_redaction(logger)
        register_secret(PASSWORD)
        logger.warning("value=%s", PASSWORD)
        assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.filters.clear()
    assert stream.getvalue() == f"value={MASK}\n"


def test_badly_formatted_record_does_not_break_logging() -> None:
    register_secret(PASSWORD)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, f"{PASSWORD} %s %s", ("one",), None)
    assert RedactingFilter().filter(record)
    assert PASSWORD not in record.getMessage()


@PROPERTY
@given(st.text(min_size=4, max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_any_registered_value_disappears_from_any_text(value: str, before: str, after: str) -> None:
    # A value made of mask characters could be re-formed by the mask itself; that is not a leak.
    assume("*" not in value)
    redaction.clear_registered_secrets()
    register_secret(value)
    assert value not in redact(before + value + after)


@PROPERTY
@given(
    st.lists(st.text(alphabet="abc-", min_size=4, max_size=8), min_size=1, max_size=12),
    st.text(alphabet="ab ", max_size=5),
)
def test_many_values_sharing_prefixes_are_all_masked(values: list[str], separator: str) -> None:
    redaction.clear_registered_secrets()
    for value in values:
        register_secret(value)
    redacted = redact(separator.join(values))
    for value in values:
        assert value not in redacted.replace(MASK, " ")
