"""Field rules of each secret type: which fields exist, how each is checked and normalised.

One parser per type turns the document's fields into normalised values plus the facts read from
them. Normalisation is what makes equal content encode to equal bytes: PEM is re-emitted in one
form, base64 in standard padded form, binary generic values that are UTF-8 become text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from vaultsync.api.common import SecretType
from vaultsync.secrets import cryptofacts
from vaultsync.secrets.encoding import decode_base64, decode_utf8, encode_base64, require_text
from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.model import ContentFacts, FieldValue, JwtClaims
from vaultsync.secrets.pem import looks_like_pem, parse_pem_blocks

Fields = dict[str, FieldValue]
Parsed = tuple[Fields, ContentFacts]

KEY_VALUE_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_JWT_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
GENERIC_ENCODING = "valueEncoding"

FIELD_NAMES: Mapping[SecretType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SecretType.BASIC_AUTH: (("username", "password"), ()),
    SecretType.API_KEY: (("apiKey",), ("headerName",)),
    SecretType.BEARER_TOKEN: (("token",), ("headerName",)),
    SecretType.JWT: (("token",), ()),
    SecretType.CLIENT_CREDENTIALS: (("clientId", "clientSecret"), ("scopes", "tokenUrl")),
    SecretType.PRIVATE_KEY: (("privateKey",), ("passphrase",)),
    SecretType.SECRET_KEY: (("secretKey",), ()),
    SecretType.CERTIFICATE: (("certificate",), ("privateKey", "caCertificate")),
    SecretType.KEYSTORE: (("keystore", "password"), ()),
    SecretType.GENERIC: (("value",), (GENERIC_ENCODING,)),
}
"""(required, optional) field names of every type but key-value, whose keys are free."""


def parse_fields(kind: SecretType, body: Mapping[str, object]) -> Parsed:
    if kind is not SecretType.KEY_VALUE:
        _check_field_names(kind, body)
    return _PARSERS[kind](body)


def _check_field_names(kind: SecretType, body: Mapping[str, object]) -> None:
    required, optional = FIELD_NAMES[kind]
    for name in body:
        if name not in required and name not in optional:
            raise ContentError(_safe_name(name), f"is not a field of type {kind.value}")
    for name in required:
        if name not in body:
            raise ContentError(name, "is required")


def _safe_name(name: str) -> str:
    printable = "".join(char if char.isprintable() else "?" for char in name)
    return printable[:64] or "<empty>"


def _optional_text(body: Mapping[str, object], name: str) -> str | None:
    return require_text(body[name], name) if name in body else None


def _header_name(body: Mapping[str, object]) -> Fields:
    header = _optional_text(body, "headerName")
    if header is None:
        return {}
    if not _HTTP_TOKEN.fullmatch(header):
        raise ContentError("headerName", "is not a valid HTTP header name")
    return {"headerName": header}


def _basic_auth(body: Mapping[str, object]) -> Parsed:
    username = require_text(body["username"], "username")
    return {"username": username, "password": require_text(body["password"], "password")}, ContentFacts()


def _api_key(body: Mapping[str, object]) -> Parsed:
    return {"apiKey": require_text(body["apiKey"], "apiKey"), **_header_name(body)}, ContentFacts()


def _bearer_token(body: Mapping[str, object]) -> Parsed:
    return {"token": require_text(body["token"], "token"), **_header_name(body)}, ContentFacts()


def _jwt(body: Mapping[str, object]) -> Parsed:
    token = require_text(body["token"], "token").strip()
    parts = token.split(".")
    if len(parts) != 3 or not all(_JWT_SEGMENT.fullmatch(part) for part in parts):
        raise ContentError("token", "is not a well-formed JWT: expected three base64url parts")
    _jwt_json(parts[0], "header")
    claims = _jwt_json(parts[1], "payload")
    issuer = claims.get("iss")
    if issuer is not None and not isinstance(issuer, str):
        raise ContentError("token", "is not a well-formed JWT: claim iss is not a string")
    facts = JwtClaims(
        expires_at=_numeric_date(claims.get("exp"), "exp"),
        not_before=_numeric_date(claims.get("nbf"), "nbf"),
        issuer=issuer,
    )
    return {"token": token}, ContentFacts(jwt=facts)


def _jwt_json(segment: str, part: str) -> dict[str, object]:
    try:
        decoded = json.loads(decode_utf8(decode_base64(segment, "token"), "token"))
    except (ContentError, ValueError, RecursionError):
        raise ContentError("token", f"is not a well-formed JWT: the {part} is not base64url JSON") from None
    if not isinstance(decoded, dict):
        raise ContentError("token", f"is not a well-formed JWT: the {part} is not a JSON object")
    return decoded


def _numeric_date(value: object, claim: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContentError("token", f"is not a well-formed JWT: claim {claim} is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        raise ContentError("token", f"is not a well-formed JWT: claim {claim} is out of range") from None


def _client_credentials(body: Mapping[str, object]) -> Parsed:
    fields: Fields = {
        "clientId": require_text(body["clientId"], "clientId"),
        "clientSecret": require_text(body["clientSecret"], "clientSecret"),
    }
    if "scopes" in body:
        fields["scopes"] = _scopes(body["scopes"])
    token_url = _optional_text(body, "tokenUrl")
    if token_url is not None:
        parts = urlsplit(token_url) if token_url.isprintable() else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ContentError("tokenUrl", "must be an absolute http(s) URL")
        fields["tokenUrl"] = token_url
    return fields, ContentFacts()


def _scopes(value: object) -> tuple[str, ...]:
    """A list of scope strings; a space-separated string (the OAuth wire form) is accepted too."""
    items = require_text(value, "scopes", allow_empty=True).split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ContentError("scopes", "must be a list of strings")
    scopes: list[str] = []
    for index, item in enumerate(items):
        scope = require_text(item, f"scopes[{index}]")
        if not _SCOPE.fullmatch(scope):
            raise ContentError(f"scopes[{index}]", "must be printable ASCII without spaces or quotes")
        scopes.append(scope)
    return tuple(scopes)


def _private_key(body: Mapping[str, object]) -> Parsed:
    passphrase = _optional_text(body, "passphrase")
    password = passphrase.encode("utf-8") if passphrase is not None else None
    raw = body["privateKey"]
    text = encode_base64(raw) if isinstance(raw, bytes) else require_text(raw, "privateKey")
    if looks_like_pem(text):
        blocks = parse_pem_blocks(text, "privateKey")
        if len(blocks) != 1:
            raise ContentError("privateKey", "must hold exactly one PEM block")
        key = cryptofacts.load_private_key_pem(blocks[0], password, "privateKey")
        normalized = blocks[0].to_text()
    else:
        der = decode_base64(text, "privateKey")
        key = cryptofacts.load_private_key_der(der, password, "privateKey")
        normalized = encode_base64(der)
    fields: Fields = {"privateKey": normalized}
    if passphrase is not None:
        fields["passphrase"] = passphrase
    return fields, ContentFacts(key=cryptofacts.key_facts(key))


def _secret_key(body: Mapping[str, object]) -> Parsed:
    raw = body["secretKey"]
    key = raw if isinstance(raw, bytes) else decode_base64(require_text(raw, "secretKey"), "secretKey")
    if not key:
        raise ContentError("secretKey", "must not be empty")
    return {"secretKey": encode_base64(key)}, ContentFacts(secret_key_length=len(key))


def _certificate(body: Mapping[str, object]) -> Parsed:
    blocks = parse_pem_blocks(require_text(body["certificate"], "certificate"), "certificate")
    chain = cryptofacts.load_certificates(blocks, "certificate")
    facts = cryptofacts.certificate_facts(chain, "certificate")
    fields: Fields = {"certificate": "".join(block.to_text() for block in blocks)}
    if "privateKey" in body:
        key_blocks = parse_pem_blocks(require_text(body["privateKey"], "privateKey"), "privateKey")
        if len(key_blocks) != 1:
            raise ContentError("privateKey", "must hold exactly one PEM block")
        try:
            key = cryptofacts.load_private_key_pem(key_blocks[0], None, "privateKey")
        except ContentError as error:
            if error.field == "passphrase":
                raise ContentError("privateKey", "is encrypted; a certificate's key must not be") from None
            raise
        if cryptofacts.public_key_der(key.public_key()) != cryptofacts.public_key_der(chain[0].public_key()):
            raise ContentError("privateKey", "does not match the leaf certificate")
        fields["privateKey"] = key_blocks[0].to_text()
    if "caCertificate" in body:
        ca_blocks = parse_pem_blocks(require_text(body["caCertificate"], "caCertificate"), "caCertificate")
        cryptofacts.load_certificates(ca_blocks, "caCertificate")
        fields["caCertificate"] = "".join(block.to_text() for block in ca_blocks)
    return fields, ContentFacts(certificate=facts, key=facts.key)


def _keystore(body: Mapping[str, object]) -> Parsed:
    raw = body["keystore"]
    data = raw if isinstance(raw, bytes) else decode_base64(require_text(raw, "keystore"), "keystore")
    password = require_text(body["password"], "password", allow_empty=True)
    if "\x00" in password:  # the PKCS#12 parser aborts (a Rust panic) on NUL in the password
        raise ContentError("password", "must not contain NUL characters")
    if not data:
        raise ContentError("keystore", "must not be empty")
    facts = cryptofacts.keystore_facts(data, password)
    return {"keystore": encode_base64(data), "password": password}, ContentFacts(
        key=facts.key, certificate=facts.certificate
    )


def _key_value(body: Mapping[str, object]) -> Parsed:
    if not body:
        raise ContentError("document", "must hold at least one key")
    fields: Fields = {}
    for name, value in body.items():
        if not KEY_VALUE_KEY.fullmatch(name):
            raise ContentError(_safe_name(name), "is not a valid key: use letters, digits, '-', '_' or '.'")
        fields[name] = require_text(value, name, allow_empty=True)
    return fields, ContentFacts()


def _generic(body: Mapping[str, object]) -> Parsed:
    """Text stays text; bytes that are not UTF-8 are kept as base64 with ``valueEncoding: base64``."""
    raw = body["value"]
    encoding = _optional_text(body, GENERIC_ENCODING)
    if encoding not in (None, "base64"):
        raise ContentError(GENERIC_ENCODING, "must be 'base64' when set")
    if isinstance(raw, bytes):
        data = raw
    elif encoding == "base64":
        data = decode_base64(require_text(raw, "value", allow_empty=True), "value")
    else:
        return {"value": require_text(raw, "value", allow_empty=True)}, ContentFacts()
    try:
        return {"value": data.decode("utf-8")}, ContentFacts()
    except UnicodeDecodeError:
        return {"value": encode_base64(data), GENERIC_ENCODING: "base64"}, ContentFacts()


_PARSERS: Mapping[SecretType, Callable[[Mapping[str, object]], Parsed]] = {
    SecretType.BASIC_AUTH: _basic_auth,
    SecretType.API_KEY: _api_key,
    SecretType.BEARER_TOKEN: _bearer_token,
    SecretType.JWT: _jwt,
    SecretType.CLIENT_CREDENTIALS: _client_credentials,
    SecretType.PRIVATE_KEY: _private_key,
    SecretType.SECRET_KEY: _secret_key,
    SecretType.CERTIFICATE: _certificate,
    SecretType.KEYSTORE: _keystore,
    SecretType.KEY_VALUE: _key_value,
    SecretType.GENERIC: _generic,
}
