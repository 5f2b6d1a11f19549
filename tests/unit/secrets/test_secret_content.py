"""Typed content: validation tables, facts, expiry, canonical encoding."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from secret_material import (
    NOW,
    PASSPHRASE,
    PROPERTY,
    ca_certificate,
    cert_pem,
    certificate,
    der_base64_of,
    ec_key,
    ed25519_key,
    jwt_token,
    keystore_base64,
    pem_of,
    rsa_key,
    typed_documents,
)

from vaultsync.secrets.content import SECRET_TYPES, SecretType, parse_content
from vaultsync.secrets.errors import ContentError, SecretModelError

SECRET = "s3cr3t-Value-42"


def test_secret_types_are_the_eleven_wire_names() -> None:
    assert list(SECRET_TYPES) == [
        "basic-auth",
        "api-key",
        "bearer-token",
        "jwt",
        "client-credentials",
        "private-key",
        "secret-key",
        "certificate",
        "keystore",
        "key-value",
        "generic",
    ]
    assert SecretType("jwt") is SecretType.JWT
    assert issubclass(ContentError, SecretModelError)


INVALID = [
    ("unknown-type", "nope", {}, "type", "is not one of"),
    ("missing-password", "basic-auth", {"username": "u"}, "password", "is required"),
    ("empty-username", "basic-auth", {"username": "", "password": SECRET}, "username", "must not be empty"),
    ("number-password", "basic-auth", {"username": "u", "password": 1234}, "password", "must be a string"),
    ("unknown-field", "basic-auth", {"username": "u", "password": SECRET, "pw": SECRET}, "pw", "not a field"),
    ("surrogate", "api-key", {"apiKey": "\ud800" + SECRET}, "apiKey", "not valid Unicode"),
    ("bad-header", "api-key", {"apiKey": SECRET, "headerName": "X Api Key"}, "headerName", "HTTP header"),
    ("bearer-missing", "bearer-token", {}, "token", "is required"),
    ("jwt-two-parts", "jwt", {"token": "abc.def"}, "token", "well-formed JWT"),
    ("jwt-not-json", "jwt", {"token": "YWJj.YWJj.c2ln"}, "token", "well-formed JWT"),
    ("jwt-exp-text", "jwt", {"token": jwt_token({"exp": "soon"})}, "token", "claim exp is not a number"),
    ("jwt-exp-huge", "jwt", {"token": jwt_token({"exp": 10**30})}, "token", "claim exp is out of range"),
    ("jwt-iss-number", "jwt", {"token": jwt_token({"iss": 7})}, "token", "claim iss"),
    (
        "scopes-dict",
        "client-credentials",
        {"clientId": "c", "clientSecret": SECRET, "scopes": {"a": 1}},
        "scopes",
        "list of strings",
    ),
    (
        "scope-quote",
        "client-credentials",
        {"clientId": "c", "clientSecret": SECRET, "scopes": ['a"b']},
        "scopes[0]",
        "printable ASCII",
    ),
    (
        "token-url-relative",
        "client-credentials",
        {"clientId": "c", "clientSecret": SECRET, "tokenUrl": "/token"},
        "tokenUrl",
        "absolute http(s) URL",
    ),
    ("key-not-pem", "private-key", {"privateKey": "-----BEGIN PRIVATE KEY-----"}, "privateKey", "is not PEM"),
    ("key-not-base64", "private-key", {"privateKey": SECRET + "!"}, "privateKey", "not valid base64"),
    (
        "key-garbage-der",
        "private-key",
        {"privateKey": base64.b64encode(b"garbage" * 9).decode()},
        "privateKey",
        "not a readable private key",
    ),
    (
        "key-is-certificate",
        "private-key",
        {"privateKey": cert_pem(certificate())},
        "privateKey",
        "not a private key PEM block",
    ),
    (
        "key-needs-passphrase",
        "private-key",
        {"privateKey": pem_of(ec_key(), PASSPHRASE)},
        "passphrase",
        "is required",
    ),
    (
        "key-wrong-passphrase",
        "private-key",
        {"privateKey": pem_of(ec_key(), PASSPHRASE), "passphrase": SECRET},
        "passphrase",
        "does not decrypt",
    ),
    (
        "key-needless-passphrase",
        "private-key",
        {"privateKey": pem_of(ec_key()), "passphrase": SECRET},
        "passphrase",
        "not encrypted",
    ),
    ("secret-key-empty", "secret-key", {"secretKey": ""}, "secretKey", "must not be empty"),
    ("secret-key-bad", "secret-key", {"secretKey": "a$b"}, "secretKey", "not valid base64"),
    ("cert-is-key", "certificate", {"certificate": pem_of(ec_key())}, "certificate", "not a CERTIFICATE"),
    (
        "cert-bad-der",
        "certificate",
        {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
        "certificate",
        "not a readable X.509",
    ),
    (
        "cert-wrong-key",
        "certificate",
        {"certificate": cert_pem(certificate()), "privateKey": pem_of(rsa_key())},
        "privateKey",
        "does not match the leaf",
    ),
    (
        "cert-encrypted-key",
        "certificate",
        {"certificate": cert_pem(certificate()), "privateKey": pem_of(ec_key(), PASSPHRASE)},
        "privateKey",
        "is encrypted",
    ),
    (
        "keystore-wrong-password",
        "keystore",
        {"keystore": keystore_base64(), "password": SECRET},
        "keystore",
        "cannot be opened",
    ),
    (
        "keystore-nul-password",
        "keystore",
        {"keystore": keystore_base64(), "password": "\x00" + SECRET},
        "password",
        "NUL",
    ),
    (
        "keystore-not-p12",
        "keystore",
        {"keystore": base64.b64encode(b"x" * 40).decode(), "password": "p"},
        "keystore",
        "cannot be opened",
    ),
    ("key-value-empty", "key-value", {}, "document", "at least one key"),
    ("key-value-bad-key", "key-value", {"a b": SECRET}, "a b", "not a valid key"),
    ("key-value-number", "key-value", {"port": 5432}, "port", "must be a string"),
    ("generic-bad-encoding", "generic", {"value": SECRET, "valueEncoding": "hex"}, "valueEncoding", "base64"),
    (
        "expires-no-zone",
        "generic",
        {"value": SECRET, "expiresAt": "2030-01-01T00:00:00"},
        "expiresAt",
        "time zone",
    ),
    ("expires-garbage", "generic", {"value": SECRET, "expiresAt": "tomorrow"}, "expiresAt", "RFC 3339"),
]


@pytest.mark.parametrize(
    ("secret_type", "document", "field", "problem"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID],
)
def test_invalid_content_names_field_and_problem_without_value(
    secret_type: str, document: dict[str, object], field: str, problem: str
) -> None:
    with pytest.raises(ContentError) as caught:
        parse_content(secret_type, document)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert SECRET not in str(caught.value)
    assert PASSPHRASE not in str(caught.value)


def test_non_mapping_document_is_rejected() -> None:
    with pytest.raises(ContentError, match="document: must be an object"):
        parse_content("generic", ["value"])  # type: ignore[arg-type]


KEY_FACTS = [
    ("rsa-pkcs8", pem_of(rsa_key()), None, "RSA", 2048, None),
    (
        "rsa-traditional",
        pem_of(rsa_key(), fmt=serialization.PrivateFormat.TraditionalOpenSSL),
        None,
        "RSA",
        2048,
        None,
    ),
    ("ec-p256", pem_of(ec_key()), None, "EC", 256, "secp256r1"),
    ("ec-p384", pem_of(ec_key("P-384")), None, "EC", 384, "secp384r1"),
    ("ed25519", pem_of(ed25519_key()), None, "Ed25519", 256, None),
    ("der-base64", der_base64_of(ec_key()), None, "EC", 256, "secp256r1"),
    ("encrypted", pem_of(rsa_key(), PASSPHRASE), PASSPHRASE, "RSA", 2048, None),
    (
        "openssh",
        ed25519_key()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        .decode(),
        None,
        "Ed25519",
        256,
        None,
    ),
]


@pytest.mark.parametrize(
    ("pem", "passphrase", "algorithm", "size", "curve"),
    [pytest.param(*case[1:], id=case[0]) for case in KEY_FACTS],
)
def test_private_key_algorithm_and_size_are_detected(
    pem: str, passphrase: str | None, algorithm: str, size: int, curve: str | None
) -> None:
    document = {"privateKey": pem} | ({"passphrase": passphrase} if passphrase else {})
    facts = parse_content("private-key", document).facts.key
    assert facts is not None
    assert (facts.algorithm, facts.size, facts.curve) == (algorithm, size, curve)


def test_certificate_facts_are_extracted_from_the_leaf() -> None:
    leaf = certificate("chained.example", 30, ("chained.example",), "Test CA")
    content = parse_content(
        "certificate",
        {
            "certificate": cert_pem(leaf) + cert_pem(ca_certificate()),
            "privateKey": pem_of(ec_key()),
            "caCertificate": cert_pem(ca_certificate()),
        },
    )
    facts = content.facts.certificate
    assert facts is not None
    assert facts.subject == "CN=chained.example"
    assert facts.issuer == "CN=Test CA"
    assert facts.sans == ("DNS:chained.example",)
    assert facts.not_after == NOW + timedelta(days=30)
    assert facts.chain_length == 2
    assert (facts.key.algorithm, facts.key.size) == ("EC", 256)
    assert content.expires_at == NOW + timedelta(days=30)


def test_keystore_is_opened_and_checked() -> None:
    content = parse_content("keystore", {"keystore": keystore_base64(), "password": "changeit"})
    assert content.facts.key is not None
    assert content.facts.key.algorithm == "EC"
    assert content.facts.certificate is not None
    assert content.facts.certificate.subject == "CN=leaf.example"
    assert content.facts.certificate.chain_length == 2


def test_jwt_claims_are_read_without_verifying() -> None:
    content = parse_content(
        "jwt", {"token": f"  {jwt_token({'exp': 1_900_000_000, 'nbf': 1_800_000_000, 'iss': 'me'})}\n"}
    )
    claims = content.facts.jwt
    assert claims is not None
    assert claims.expires_at == datetime.fromtimestamp(1_900_000_000, UTC)
    assert claims.not_before == datetime.fromtimestamp(1_800_000_000, UTC)
    assert claims.issuer == "me"
    assert not content.fields["token"].startswith(" ")  # type: ignore[union-attr]


def test_secret_key_length_is_reported_and_base64_dialects_agree() -> None:
    raw = bytes(range(250, 256)) + b"\xfb\xff"
    standard = parse_content("secret-key", {"secretKey": base64.b64encode(raw).decode()})
    urlsafe = parse_content("secret-key", {"secretKey": base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    from_bytes = parse_content("secret-key", {"secretKey": raw})
    assert standard.facts.secret_key_length == len(raw)
    assert standard == urlsafe == from_bytes


@pytest.mark.parametrize(
    ("claims_exp", "explicit", "certificate_days", "expected"),
    [
        pytest.param(None, None, None, None, id="none"),
        pytest.param(
            None, "2026-02-01T00:00:00Z", None, datetime(2026, 2, 1, tzinfo=UTC), id="explicit-only"
        ),
        pytest.param(
            int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()),
            "2026-02-01T00:00:00Z",
            None,
            datetime(2026, 1, 5, tzinfo=UTC),
            id="jwt-exp-earlier",
        ),
        pytest.param(None, "2027-01-01T00:00:00+01:00", 90, NOW + timedelta(days=90), id="cert-earlier"),
        pytest.param(
            None, "2026-01-02T00:00:00Z", 90, datetime(2026, 1, 2, tzinfo=UTC), id="explicit-earlier"
        ),
    ],
)
def test_earliest_expiry_wins(
    claims_exp: int | None, explicit: str | None, certificate_days: int | None, expected: datetime | None
) -> None:
    if certificate_days is not None:
        document: dict[str, object] = {"certificate": cert_pem(certificate(days=certificate_days))}
        secret_type = "certificate"
    elif claims_exp is not None:
        document, secret_type = {"token": jwt_token({"exp": claims_exp})}, "jwt"
    else:
        document, secret_type = {"value": SECRET}, "generic"
    if explicit is not None:
        document["expiresAt"] = explicit
    assert parse_content(secret_type, document).expires_at == expected


def test_generic_bytes_become_text_when_utf8_and_base64_otherwise() -> None:
    assert parse_content("generic", {"value": "héllo".encode()}) == parse_content(
        "generic", {"value": "héllo"}
    )
    binary = parse_content("generic", {"value": b"\xff\x00"})
    assert dict(binary.fields) == {"value": "/wA=", "valueEncoding": "base64"}
    assert (
        parse_content("generic", {"value": "aMOpbGxv", "valueEncoding": "base64"}).fields["value"] == "héllo"
    )


def test_repr_lists_field_names_but_never_values() -> None:
    content = parse_content("basic-auth", {"username": "admin", "password": SECRET})
    assert SECRET not in repr(content)
    assert "password" in repr(content)


PEM_MANGLERS = [
    pytest.param(lambda pem: pem.replace("\n", "\\n"), id="literal-backslash-n"),
    pytest.param(lambda pem: pem.replace("\n", "\r\n"), id="crlf"),
    pytest.param(lambda pem: "\n\n   " + pem.rstrip("\n") + "   \n\n", id="surrounding-whitespace"),
    pytest.param(lambda pem: pem.rstrip("\n"), id="no-final-newline"),
    pytest.param(lambda pem: "\n".join("  " + line for line in pem.splitlines()), id="indented"),
    pytest.param(lambda pem: "Bag Attributes: x\n" + pem, id="text-before-block"),
]


@pytest.mark.parametrize("mangle", PEM_MANGLERS)
@pytest.mark.parametrize(
    ("secret_type", "field", "document"),
    [
        pytest.param(
            "certificate", "certificate", {"certificate": cert_pem(certificate())}, id="certificate"
        ),
        pytest.param("private-key", "privateKey", {"privateKey": pem_of(rsa_key())}, id="private-key"),
        pytest.param(
            "private-key",
            "privateKey",
            {
                "privateKey": pem_of(rsa_key(), PASSPHRASE, serialization.PrivateFormat.TraditionalOpenSSL),
                "passphrase": PASSPHRASE,
            },
            id="legacy-encrypted-key",
        ),
    ],
)
def test_pem_pastes_normalise_to_the_same_canonical_bytes(
    mangle: object, secret_type: str, field: str, document: dict[str, object]
) -> None:
    assert callable(mangle)
    mangled = dict(document) | {field: mangle(document[field])}
    assert (
        parse_content(secret_type, mangled).canonical_bytes()
        == parse_content(secret_type, document).canonical_bytes()
    )


@PROPERTY
@given(typed_documents(), st.randoms(use_true_random=False))
def test_canonical_bytes_ignore_key_order(typed: tuple[str, dict[str, object]], random: object) -> None:
    secret_type, document = typed
    items = list(document.items())
    random.shuffle(items)  # type: ignore[attr-defined]
    assert (
        parse_content(secret_type, dict(items)).canonical_bytes()
        == parse_content(secret_type, document).canonical_bytes()
    )


@PROPERTY
@given(typed_documents())
def test_parsing_is_idempotent(typed: tuple[str, dict[str, object]]) -> None:
    secret_type, document = typed
    content = parse_content(secret_type, document)
    again = parse_content(
        secret_type,
        dict(content.fields) | ({"expiresAt": document["expiresAt"]} if "expiresAt" in document else {}),
    )
    assert again == content
    assert hash(again) == hash(content)


CREDENTIALS = st.fixed_dictionaries(
    {"username": st.text(min_size=1, max_size=8), "password": st.text(min_size=1, max_size=8)}
)


@PROPERTY
@given(CREDENTIALS, CREDENTIALS)
def test_different_content_gives_different_bytes(first: dict[str, str], second: dict[str, str]) -> None:
    try:
        same = parse_content("basic-auth", first) == parse_content("basic-auth", second)
    except ContentError:
        return
    assert same == (first == second)


@PROPERTY
@given(st.text(max_size=20))
def test_the_type_is_part_of_the_encoding(value: str) -> None:
    try:
        generic = parse_content("generic", {"value": value})
    except ContentError:
        return
    key_value = parse_content("key-value", {"value": value})
    assert generic.fields == key_value.fields
    assert generic.canonical_bytes() != key_value.canonical_bytes()
