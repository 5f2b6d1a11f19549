"""What each backend stores for a secret, and the way back, losslessly.

- Document vaults (Vault/OpenBao, AWS Secrets Manager): the JSON object of the content fields.
- Azure Key Vault: that JSON as one string value, tagged with a content type naming the secret
  type; secret names allow only ``[0-9a-zA-Z-]``, so paths are mapped to names reversibly.
- Kubernetes Secrets: data keys in the shape the natural Kubernetes type expects
  (``kubernetes.io/tls``: ``tls.crt``/``tls.key``/``ca.crt``; ``kubernetes.io/basic-auth``).

Pure functions only: backends call them around their I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from vaultsync.api.common import SecretType
from vaultsync.secrets.content import EXPIRES_AT, SecretContent, format_timestamp, parse_content
from vaultsync.secrets.encoding import decode_base64, decode_utf8, encode_base64
from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.fields import GENERIC_ENCODING
from vaultsync.secrets.model import parse_secret_type

JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
Document = dict[str, JSONValue]

AZURE_CONTENT_TYPE_PREFIX = "application/vnd.vaultsync+json"
AZURE_NAME_MAX_LENGTH = 127
_AZURE_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")
_AZURE_TYPE_PARAMETER = re.compile(r";\s*type=([a-z-]+)\s*$")
_ALPHANUMERIC = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

KUBERNETES_TLS = "kubernetes.io/tls"
KUBERNETES_BASIC_AUTH = "kubernetes.io/basic-auth"
KUBERNETES_OPAQUE = "Opaque"
_TLS_KEYS = {"certificate": "tls.crt", "privateKey": "tls.key", "caCertificate": "ca.crt"}
_JSON_FIELDS = frozenset({"scopes"})
_BINARY_FIELDS = {SecretType.SECRET_KEY: "secretKey", SecretType.KEYSTORE: "keystore"}


def to_document(content: SecretContent) -> Document:
    """The JSON object stored in document vaults: content fields plus ``expiresAt`` when set."""
    document: Document = {
        name: list(value) if isinstance(value, tuple) else value for name, value in content.fields.items()
    }
    if content.explicit_expires_at is not None:
        document[EXPIRES_AT] = format_timestamp(content.explicit_expires_at)
    return document


def from_document(secret_type: str, doc: Mapping[str, object]) -> SecretContent:
    return parse_content(secret_type, doc)


def document_to_json(doc: Mapping[str, object]) -> str:
    """Compact JSON with sorted keys (stable bytes for the same document)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_to_document(text: str) -> Document:
    """Parse a stored JSON object; rejects invalid JSON, NaN/Infinity, duplicate keys and non-objects."""
    try:
        parsed = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):
        raise ContentError("document", "is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ContentError("document", "must be a JSON object")
    return parsed


def _reject_duplicate_keys(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _reject_constant(_name: str) -> None:
    raise ValueError("non-finite number")


# --- Azure Key Vault ---------------------------------------------------------------------------


def to_azure_value(secret_type: str, doc: Mapping[str, object]) -> tuple[str, str]:
    """(secret value, content type) for Azure Key Vault."""
    kind = parse_secret_type(secret_type)
    return document_to_json(doc), f"{AZURE_CONTENT_TYPE_PREFIX}; type={kind.value}"


def from_azure_value(value: str, content_type: str | None) -> tuple[str | None, Document]:
    """(secret type or None, document) of an Azure secret.

    Secrets written by vaultsync carry our content type and a JSON value. Foreign secrets are read
    as a JSON object when they are one, otherwise as ``{"value": <the string>}`` (generic content).
    """
    if content_type is not None and content_type.strip().startswith(AZURE_CONTENT_TYPE_PREFIX):
        match = _AZURE_TYPE_PARAMETER.search(content_type)
        secret_type = parse_secret_type(match.group(1)).value if match else None
        return secret_type, json_to_document(value)
    try:
        return None, json_to_document(value)
    except ContentError:
        return None, {"value": value}


def azure_name_for_path(path: str) -> str:
    """Reversible Azure secret name of a path.

    Letters and digits stay; ``/`` becomes ``--``; every other character becomes ``-XX`` per UTF-8
    byte (uppercase hex). Each escape starts with ``-``, so decoding is unambiguous.
    """
    if not isinstance(path, str) or not path:
        raise ContentError("path", "must be a non-empty string")
    parts: list[str] = []
    for char in path:
        if char in _ALPHANUMERIC:
            parts.append(char)
        elif char == "/":
            parts.append("--")
        else:
            try:
                encoded = char.encode("utf-8")
            except UnicodeEncodeError:
                raise ContentError("path", "is not valid Unicode text") from None
            parts.extend(f"-{byte:02X}" for byte in encoded)
    name = "".join(parts)
    if len(name) > AZURE_NAME_MAX_LENGTH:
        raise ContentError("path", f"maps to an Azure secret name longer than {AZURE_NAME_MAX_LENGTH}")
    return name


def path_for_azure_name(name: str) -> str:
    """Inverse of ``azure_name_for_path``; rejects names that function cannot produce."""
    if not isinstance(name, str) or not _AZURE_NAME.fullmatch(name):
        raise ContentError("name", "is not a valid Azure secret name")
    decoded = bytearray()
    index = 0
    while index < len(name):
        char = name[index]
        if char != "-":
            decoded += char.encode("ascii")
            index += 1
        elif name[index + 1 : index + 2] == "-":
            decoded += b"/"
            index += 2
        else:
            hex_digits = name[index + 1 : index + 3]
            if len(hex_digits) != 2 or hex_digits.upper() != hex_digits:
                raise ContentError("name", "has a malformed escape")
            try:
                decoded.append(int(hex_digits, 16))
            except ValueError:
                raise ContentError("name", "has a malformed escape") from None
            index += 3
    path = decode_utf8(bytes(decoded), "name")
    if azure_name_for_path(path) != name:
        raise ContentError("name", "is not in the canonical vaultsync form")
    return path


# --- Kubernetes Secrets ------------------------------------------------------------------------


def kubernetes_secret_type(secret_type: str) -> str:
    kind = parse_secret_type(secret_type)
    if kind is SecretType.CERTIFICATE:
        return KUBERNETES_TLS
    if kind is SecretType.BASIC_AUTH:
        return KUBERNETES_BASIC_AUTH
    return KUBERNETES_OPAQUE


def to_kubernetes_data(secret_type: str, doc: Mapping[str, object]) -> tuple[str, dict[str, bytes]]:
    """(Kubernetes Secret type, data) for a document.

    certificate -> ``tls.crt``/``tls.key``/``ca.crt`` (``tls.key`` empty when there is no key, since
    the API server requires it); secret-key and keystore -> their raw bytes; generic -> the raw value
    bytes; other fields -> one key each, strings as UTF-8 and lists as JSON.
    """
    kind = parse_secret_type(secret_type)
    data: dict[str, bytes] = {}
    for name, value in doc.items():
        key = _TLS_KEYS.get(name, name) if kind is SecretType.CERTIFICATE else name
        if _BINARY_FIELDS.get(kind) == name and isinstance(value, str):
            data[key] = decode_base64(value, name)
        elif kind is SecretType.GENERIC and name == GENERIC_ENCODING:
            continue
        elif kind is SecretType.GENERIC and name == "value" and doc.get(GENERIC_ENCODING) == "base64":
            data[key] = decode_base64(str(value), name)
        elif isinstance(value, str):
            data[key] = value.encode("utf-8")
        else:
            data[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if kind is SecretType.CERTIFICATE:
        data.setdefault("tls.key", b"")
    return kubernetes_secret_type(kind), data


def from_kubernetes_data(secret_type: str, data: Mapping[str, bytes]) -> Document:
    """The document of Kubernetes Secret data written by ``to_kubernetes_data``."""
    kind = parse_secret_type(secret_type)
    fields_by_key = {key: name for name, key in _TLS_KEYS.items()} if kind is SecretType.CERTIFICATE else {}
    doc: Document = {}
    for key, raw in data.items():
        name = fields_by_key.get(key, key)
        if not isinstance(raw, bytes):
            raise ContentError(name, "must be bytes")
        if kind is SecretType.CERTIFICATE and name == "privateKey" and raw == b"":
            continue
        if _BINARY_FIELDS.get(kind) == name:
            doc[name] = encode_base64(raw)
        elif kind is SecretType.GENERIC and name == "value":
            try:
                doc[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                doc[name] = encode_base64(raw)
                doc[GENERIC_ENCODING] = "base64"
        elif name in _JSON_FIELDS and kind is SecretType.CLIENT_CREDENTIALS:
            doc[name] = _json_value(decode_utf8(raw, name), name)
        else:
            doc[name] = decode_utf8(raw, name)
    return doc


def _json_value(text: str, name: str) -> JSONValue:
    try:
        value: JSONValue = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ContentError(name, "is not valid JSON") from None
    return value
