"""``.env`` files in, ``SECRET_<KEY>=<base64>`` lines out.

Converting a whole ``.env`` file into one key-value secret is how teams move into vaultsync; the
``SECRET_`` lines are the format of the environment-variable backend (values base64 so any byte
survives a shell). Errors name the line number and the problem, never the line.

Accepted ``.env`` syntax: blank lines, ``#`` comments, an optional ``export`` prefix,
``KEY=value`` with unquoted values (trailing `` # comment`` dropped, surrounding spaces stripped),
single-quoted values (literal, may span lines) and double-quoted values (``\\n``, ``\\t``, ``\\"``,
``\\\\`` escapes, may span lines). A later definition of a key replaces an earlier one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vaultsync.secrets.content import SecretContent, SecretType, parse_content
from vaultsync.secrets.encoding import decode_base64, decode_utf8, encode_base64
from vaultsync.secrets.errors import ContentError

ENV_PREFIX = "SECRET_"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_dotenv(text: str) -> dict[str, str]:
    """The key -> value mapping of a ``.env`` file."""
    if not isinstance(text, str):
        raise ContentError("dotenv", "must be text")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    values: dict[str, str] = {}
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        key, separator, rest = line.partition("=")
        key = key.strip()
        if not separator:
            raise ContentError(f"line {number}", "is not KEY=value")
        if not _KEY.fullmatch(key):
            raise ContentError(f"line {number}", "has an invalid key name")
        rest = rest.lstrip()
        if rest[:1] in ("'", '"'):
            value, index = _quoted(rest, lines, index, number)
        else:
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
        values[key] = value
    return values


def _quoted(rest: str, lines: list[str], index: int, number: int) -> tuple[str, int]:
    """The value of a quoted assignment starting at ``rest``; returns it and the next line index."""
    quote = rest[0]
    buffer = rest[1:]
    while True:
        end = _closing_quote(buffer, quote)
        if end is not None:
            trailing = buffer[end + 1 :].strip()
            if trailing and not trailing.startswith("#"):
                raise ContentError(f"line {number}", "has text after the closing quote")
            body = buffer[:end]
            return (_unescape(body) if quote == '"' else body), index
        if index >= len(lines):
            raise ContentError(f"line {number}", "has an unterminated quoted value")
        buffer += "\n" + lines[index]
        index += 1


def _closing_quote(buffer: str, quote: str) -> int | None:
    position = 0
    while position < len(buffer):
        char = buffer[position]
        if quote == '"' and char == "\\":
            position += 2
            continue
        if char == quote:
            return position
        position += 1
    return None


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(0)), body, flags=re.DOTALL)


def dotenv_to_content(text: str) -> SecretContent:
    """A whole ``.env`` file as key-value content."""
    return parse_content(SecretType.KEY_VALUE, parse_dotenv(text))


def content_to_env_lines(content: SecretContent) -> str:
    """``SECRET_<KEY>=<base64 of the UTF-8 value>`` lines, sorted by key, of key-value content."""
    if content.type is not SecretType.KEY_VALUE:
        raise ContentError("type", "only key-value content exports as environment variables")
    lines = []
    for key, value in sorted(content.fields.items()):
        if not _ENV_NAME.fullmatch(key) or not isinstance(value, str):
            raise ContentError(key, "cannot be an environment variable name (use letters, digits, '_')")
        lines.append(f"{ENV_PREFIX}{key}={encode_base64(value.encode('utf-8'))}\n")
    return "".join(lines)


def env_variables_to_content(environ: Mapping[str, str]) -> SecretContent:
    """Inverse of ``content_to_env_lines``: key-value content from ``SECRET_*`` variables."""
    values = {}
    for name, encoded in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :]
            values[key] = decode_utf8(decode_base64(encoded, name), name)
    return parse_content(SecretType.KEY_VALUE, values)
