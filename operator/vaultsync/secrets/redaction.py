"""Masking of secret values in logs.

Every value the operator handles is registered here (with its base64, JSON-escaped and repr forms,
which is how values usually leak: a dict logged with ``%r``, a payload dumped as JSON, a Kubernetes
``data`` field). ``install_redaction`` masks them in every log record, whichever logger or handler
it goes through; ``redact`` masks them in any string. Values shorter than 4 characters are not
registered: masking every "a" or "1" would make logs unreadable and hides nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from vaultsync.secrets.content import SecretContent

MASK = "******"
MINIMUM_LENGTH = 4
MAX_REGISTERED_VALUES = 10_000

_lock = threading.Lock()
_registered: dict[str, None] = {}
_pattern: re.Pattern[str] | None = None
_installed_factory: Callable[..., logging.LogRecord] | None = None


def register_secret(value: str | bytes) -> None:
    """Mask ``value`` (and its base64, JSON-escaped and repr forms) from now on."""
    global _pattern  # noqa: PLW0603 - one registry per process, like the logging module itself
    forms = _forms_of(value)
    if not forms:
        return
    with _lock:
        changed = False
        for form in forms:
            changed |= _registered.pop(form, False) is False  # popped value is None when known
            _registered[form] = None
        while len(_registered) > MAX_REGISTERED_VALUES:
            del _registered[next(iter(_registered))]
            changed = True
        if changed:  # re-registering known values (every sync) must not rebuild the pattern
            _pattern = None


def clear_registered_secrets() -> None:
    """Forget every registered value (tests, and operator shutdown)."""
    global _pattern  # noqa: PLW0603 - see register_secret
    with _lock:
        _registered.clear()
        _pattern = None


def _forms_of(value: str | bytes) -> list[str]:
    if isinstance(value, bytes):
        raw = value
        try:
            text: str | None = value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    else:
        text = value
        raw = value.encode("utf-8", errors="surrogatepass")
    if len(raw) < MINIMUM_LENGTH and (text is None or len(text) < MINIMUM_LENGTH):
        return []
    forms = [base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")]
    forms += [form.rstrip("=") for form in forms]
    if text is not None:
        forms += [text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], repr(text)[1:-1]]
    return [form for form in dict.fromkeys(forms) if len(form) >= MINIMUM_LENGTH]


def _current_pattern() -> re.Pattern[str] | None:
    global _pattern  # noqa: PLW0603 - see register_secret
    with _lock:
        if _pattern is None and _registered:
            _pattern = re.compile(_trie_regex(_registered))
        return _pattern


_END = ""


def _trie_regex(values: Iterable[str]) -> str:
    """One regex matching any of ``values``, longest first, shaped as a trie.

    A flat alternation of thousands of values costs milliseconds per log line; the trie shares
    prefixes, so matching costs about the length of the line.
    """
    trie: dict[str, Any] = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _emit(trie)


def _emit(node: dict[str, Any]) -> str:
    literal = []
    while len(node) == 1 and _END not in node:
        ((char, node),) = node.items()
        literal.append(re.escape(char))
    branches = [re.escape(char) + _emit(child) for char, child in sorted(node.items()) if char != _END]
    if not branches:
        tail = ""
    elif _END in node:
        tail = "(?:" + "|".join(branches) + ")?"
    else:
        tail = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return "".join(literal) + tail


def redact(text: str) -> str:
    """``text`` with every registered value replaced by a mask."""
    pattern = _current_pattern()
    return text if pattern is None or not text else pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, exception and stack text with registered values masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_vaultsync_redacted", False):
        return
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = f"{record.msg!s} (arguments could not be formatted)"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._vaultsync_redacted = True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Mask registered values in logs.

    With a ``logger``: a ``RedactingFilter`` on it and on its current handlers. Without one: every
    record of every logger, by wrapping the log record factory (filters on the root logger would
    miss records propagated from child loggers). Installing twice is harmless.
    """
    global _installed_factory  # noqa: PLW0603 - see register_secret
    if logger is not None:
        for target in [logger, *logger.handlers]:
            if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
                target.addFilter(RedactingFilter())
        return
    with _lock:
        if _installed_factory is not None:
            return
        previous = logging.getLogRecordFactory()

        def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        _installed_factory = previous
        logging.setLogRecordFactory(redacting_factory)


def uninstall_redaction() -> None:
    """Undo ``install_redaction()`` without a logger (restores the previous record factory)."""
    global _installed_factory  # noqa: PLW0603 - see register_secret
    with _lock:
        if _installed_factory is not None:
            logging.setLogRecordFactory(_installed_factory)
            _installed_factory = None


def register_content(content: SecretContent) -> None:
    """Register every sensitive value of ``content`` (every value, for key-value content)."""
    for value in content.sensitive_values().values():
        register_secret(value)


def forget_secret(value: str | bytes) -> None:
    """Stop masking ``value`` (it is no longer held anywhere)."""
    global _pattern  # noqa: PLW0603 - see register_secret
    forms = _forms_of(value)
    with _lock:
        removed = [form for form in forms if _registered.pop(form, False) is None]
        if removed:
            _pattern = None


class RedactionLedger:
    """Which values each holder (a ManagedSecret, a profile's credentials) has registered.

    ``add`` registers a value as soon as it is read, generated or rendered; ``settle`` ends one
    pass of a holder: what it held before and did not add again is forgotten, unless another
    holder still has it. ``release`` forgets everything of a holder that is gone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, set[str]] = {}
        self._fresh: dict[str, set[str]] = {}

    def add(self, holder: str, values: Iterable[str | bytes]) -> None:
        texts = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]
        for text in texts:
            register_secret(text)
        with self._lock:
            self._fresh.setdefault(holder, set()).update(texts)
            self._held.setdefault(holder, set()).update(texts)

    def add_content(self, holder: str, content: SecretContent) -> None:
        self.add(holder, content.sensitive_values().values())

    def settle(self, holder: str) -> None:
        with self._lock:
            fresh = self._fresh.pop(holder, set())
            dropped = self._held.get(holder, set()) - fresh
            if fresh:
                self._held[holder] = fresh
            else:
                self._held.pop(holder, None)
            still_held = set().union(*self._held.values()) if self._held else set()
        for value in dropped - still_held:
            forget_secret(value)

    def release(self, holder: str) -> None:
        with self._lock:
            self._fresh.pop(holder, None)
        self.settle(holder)

    def holds(self, holder: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held.get(holder, set()))
