"""PEM normalisation: one canonical text for every way people paste a PEM.

Vault UIs and CI variables mangle PEM: literal ``\\n`` sequences instead of line breaks, CRLF,
indentation, re-wrapped base64, a missing final newline, explanatory text around the blocks.
Two pastes of the same key must give the same canonical bytes (and so the same fingerprint),
so every block is decoded and re-emitted with 64-column base64 and a single trailing newline.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from vaultsync.secrets.errors import ContentError

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,64})-----(.*?)-----END \1-----", re.DOTALL)
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")
_LINE_WIDTH = 64


@dataclass(frozen=True)
class PemBlock:
    """One decoded PEM block: its label, RFC 1421 headers (kept for legacy encrypted keys) and DER body."""

    label: str
    headers: tuple[str, ...]
    der: bytes

    def to_text(self) -> str:
        body = base64.b64encode(self.der).decode("ascii")
        lines = [f"-----BEGIN {self.label}-----"]
        if self.headers:
            lines.extend(self.headers)
            lines.append("")
        lines.extend(body[i : i + _LINE_WIDTH] for i in range(0, len(body), _LINE_WIDTH))
        lines.append(f"-----END {self.label}-----")
        return "\n".join(lines) + "\n"


def unescape_pasted_text(text: str) -> str:
    """Turn literal ``\\n``/``\\r`` sequences and CRLF/CR into plain line feeds."""
    return text.replace("\\r", "").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")


def looks_like_pem(text: str) -> bool:
    return "-----BEGIN " in text


def parse_pem_blocks(text: str, field: str) -> list[PemBlock]:
    """Decode every PEM block of ``text``; text outside the blocks is ignored."""
    blocks: list[PemBlock] = []
    for match in _BLOCK.finditer(unescape_pasted_text(text)):
        blocks.append(_decode_block(match.group(1), match.group(2), field, len(blocks) + 1))
    if not blocks:
        raise ContentError(field, "is not PEM: no complete BEGIN/END block found")
    return blocks


def normalize_pem(text: str, field: str) -> str:
    """Canonical PEM text of ``text`` (all blocks, in order)."""
    return "".join(block.to_text() for block in parse_pem_blocks(text, field))


def _decode_block(label: str, body: str, field: str, number: int) -> PemBlock:
    headers: list[str] = []
    base64_lines: list[str] = []
    for raw_line in body.split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        if not base64_lines and _HEADER.match(line):
            headers.append(line)
        else:
            base64_lines.append(line)
    payload = "".join("".join(base64_lines).split())
    try:
        der = binascii.a2b_base64(payload.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ContentError(field, f"is not valid PEM: block {number} has invalid base64") from None
    if not der:
        raise ContentError(field, f"is not valid PEM: block {number} is empty")
    return PemBlock(label=label, headers=tuple(headers), der=der)
