"""Base64 and text checks shared by the field rules, the formats and the .env tools.

People hand us base64 in every dialect (standard, URL-safe, unpadded, wrapped); all of them
decode here, and ``encode_base64`` produces the one form we store.
"""

from __future__ import annotations

import base64
import binascii
import re

from vaultsync.secrets.errors import ContentError

_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/_=-]*")


def decode_base64(text: str, field: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not, ignoring whitespace and literal ``\\n``."""
    compact = "".join(text.replace("\\n", "").split())
    if not _BASE64_CHARS.fullmatch(compact):
        raise ContentError(field, "is not valid base64")
    compact = compact.rstrip("=").replace("-", "+").replace("_", "/")
    if len(compact) % 4 == 1:
        raise ContentError(field, "is not valid base64: truncated")
    padded = compact + "=" * (-len(compact) % 4)
    try:
        return binascii.a2b_base64(padded.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ContentError(field, "is not valid base64") from None


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def require_text(value: object, field: str, *, allow_empty: bool = False) -> str:
    """A string that is valid Unicode (encodable as UTF-8) and, unless allowed, not empty."""
    if not isinstance(value, str):
        raise ContentError(field, "must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ContentError(field, "is not valid Unicode text") from None
    if not allow_empty and value == "":
        raise ContentError(field, "must not be empty")
    return value


def decode_utf8(data: bytes, field: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ContentError(field, "is not UTF-8 text") from None
