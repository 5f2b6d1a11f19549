"""Errors of the secret model, drawn as a tree so callers can catch at the right level.

    SecretModelError
    ├── ContentError          content does not fit its type (names the field, never the value)
    ├── TemplateError         a Kubernetes Secret template cannot be rendered
    └── FingerprintKeyError   the per-installation HMAC key is unusable

Every message is built from field names and fixed problem texts only, so an error can be logged
or put into a status condition without leaking what was stored.
"""

from __future__ import annotations


class SecretModelError(Exception):
    """Base of every error raised by the pure secret model."""


class ContentError(SecretModelError):
    """Content does not fit its type: ``field`` is the offending field, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class TemplateError(SecretModelError):
    """A template entry cannot be rendered; the message names the template key and the cause."""


class FingerprintKeyError(SecretModelError):
    """The HMAC key for fingerprints is missing or too short."""
