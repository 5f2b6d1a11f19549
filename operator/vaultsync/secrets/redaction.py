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
import threading
from collections.abc import Callable, Iterable

from vaultsync.secrets.content import SecretContent

MASK = "******"
MINIMUM_LENGTH = 4

_lock = threading.Lock()
_values: set[str | bytes] = set()
# How many registered values have each form (two values can share one: a text and another's base64).
_counts: dict[str, int] = {}
# Forms by their first MINIMUM_LENGTH characters. Buckets are tuples, replaced whole on change, so
# ``redact`` reads them without the lock.
_index: dict[str, tuple[str, ...]] = {}
_installed_factory: Callable[..., logging.LogRecord] | None = None


def register_secret(value: str | bytes) -> None:
    """Mask ``value`` (and its base64, JSON-escaped and repr forms) from now on.

    Registering costs a few dictionary operations whatever the number of values already known, so
    every sync can register what it read. Memory is bounded by what is registered and not yet
    forgotten: the ``RedactionLedger`` forgets a value when no holder has it any more.
    """
    if value in _values:
        return
    forms = _forms_of(value)
    with _lock:
        if value in _values:
            return
        _values.add(value)
        for form in forms:
            known = _counts.get(form, 0)
            _counts[form] = known + 1
            if not known:
                key = form[:MINIMUM_LENGTH]
                _index[key] = (*_index.get(key, ()), form)


def forget_secret(value: str | bytes) -> None:
    """Stop masking ``value`` (it is no longer held anywhere)."""
    if value not in _values:
        return
    forms = _forms_of(value)
    with _lock:
        if value not in _values:
            return
        _values.discard(value)
        for form in forms:
            left = _counts.get(form, 0) - 1
            if left > 0:
                _counts[form] = left
                continue
            _counts.pop(form, None)
            key = form[:MINIMUM_LENGTH]
            bucket = tuple(known for known in _index.get(key, ()) if known != form)
            if bucket:
                _index[key] = bucket
            else:
                _index.pop(key, None)


def clear_registered_secrets() -> None:
    """Forget every registered value (tests, and operator shutdown)."""
    with _lock:
        _values.clear()
        _counts.clear()
        _index.clear()


def registered_forms() -> int:
    """How many distinct strings are masked now (memory accounting and tests)."""
    return len(_counts)


def _forms_of(value: str | bytes) -> list[str]:
    """The strings a value shows up as in logs. Base64 forms are registered without their ``=``
    padding: masking the unpadded text masks the padded one too (a bare ``==`` tells nothing)."""
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
    forms = [
        base64.b64encode(raw).decode("ascii").rstrip("="),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
    ]
    if text is not None:
        forms += [text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], repr(text)[1:-1]]
    return [form for form in dict.fromkeys(forms) if len(form) >= MINIMUM_LENGTH]


def redact(text: str) -> str:
    """``text`` with every registered value replaced by a mask: at each position the longest
    registered form starting there, scanning left to right.

    One dictionary lookup per character of ``text``, whatever the number of registered values (a
    compiled alternation would have to be rebuilt each time a value is added, which is every sync).
    """
    index = _index
    if not index or len(text) < MINIMUM_LENGTH:
        return text
    pieces: list[str] = []
    copied = position = 0
    last = len(text) - MINIMUM_LENGTH
    while position <= last:
        bucket = index.get(text[position : position + MINIMUM_LENGTH])
        if bucket:
            found = [form for form in bucket if text.startswith(form, position)]
            if found:
                pieces += (text[copied:position], MASK)
                position = copied = position + max(map(len, found))
                continue
        position += 1
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


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
    global _installed_factory  # noqa: PLW0603 - one record factory per process, like logging's own
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
    global _installed_factory  # noqa: PLW0603 - one record factory per process, like logging's own
    with _lock:
        if _installed_factory is not None:
            logging.setLogRecordFactory(_installed_factory)
            _installed_factory = None


def register_content(content: SecretContent) -> None:
    """Register every sensitive value of ``content`` (every value, for key-value content)."""
    for value in content.sensitive_values().values():
        register_secret(value)


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
        self._holders: dict[str, int] = {}  # how many holders hold each value

    def add(self, holder: str, values: Iterable[str | bytes]) -> None:
        texts = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]
        with self._lock:
            self._fresh.setdefault(holder, set()).update(texts)
            held = self._held.setdefault(holder, set())
            for text in texts:
                register_secret(text)
                if text not in held:
                    held.add(text)
                    self._holders[text] = self._holders.get(text, 0) + 1

    def add_content(self, holder: str, content: SecretContent) -> None:
        self.add(holder, content.sensitive_values().values())

    def settle(self, holder: str) -> None:
        """Costs what the holder held, not what every holder holds: it runs after every sync."""
        with self._lock:
            fresh = self._fresh.pop(holder, set())
            dropped = self._held.pop(holder, set()) - fresh
            if fresh:
                self._held[holder] = fresh
            for value in dropped:
                left = self._holders.pop(value) - 1
                if left:
                    self._holders[value] = left
                else:
                    forget_secret(value)

    def release(self, holder: str) -> None:
        with self._lock:
            self._fresh.pop(holder, None)
        self.settle(holder)

    def holds(self, holder: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held.get(holder, set()))
