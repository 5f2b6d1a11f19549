"""kopf's success lines stay out of the log; its failures and everything else stay in."""

from __future__ import annotations

import logging

import pytest

from vaultsync.handlers.startup import _quiet_success


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    "message", ["Handler 'sync' succeeded.", "Webhook 'author-managedsecret' succeeded."]
)
def test_success_lines_are_dropped(message: str) -> None:
    assert not _quiet_success(_record(message))


@pytest.mark.parametrize(
    "message",
    [
        "Handler 'sync' failed temporarily: vault unreachable",
        "Webhook 'validate-managedsecret' failed permanently: spec.source: required",
        "Timer 'refresh' succeeded in an unexpected way",
    ],
)
def test_everything_else_is_kept(message: str) -> None:
    assert _quiet_success(_record(message, logging.WARNING))
