"""Storage formats: documents, JSON, Azure values and names, Kubernetes Secret data."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secret_material import PROPERTY, cert_pem, certificate, ec_key, pem_of, typed_documents

from vaultsync.secrets.content import SECRET_TYPES, parse_content
from vaultsync.secrets.errors import ContentError
from vaultsync.secrets.formats import (
    AZURE_CONTENT_TYPE_PREFIX,
    azure_name_for_path,
    document_to_json,
    from_azure_value,
    from_document,
    from_kubernetes_data,
    json_to_document,
    kubernetes_secret_type,
    path_for_azure_name,
    to_azure_value,
    to_document,
    to_kubernetes_data,
)

AZURE_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


@PROPERTY
@given(typed_documents())
def test_document_and_json_round_trip(typed: tuple[str, dict[str, object]]) -> None:
    secret_type, document = typed
    content = parse_content(secret_type, document)
    stored = document_to_json(to_document(content))
    assert from_document(secret_type, json_to_document(stored)) == content
    assert document_to_json(to_document(from_document(secret_type, json_to_document(stored)))) == stored


@PROPERTY
@given(typed_documents())
def test_azure_value_round_trip(typed: tuple[str, dict[str, object]]) -> None:
    secret_type, document = typed
    content = parse_content(secret_type, document)
    value, content_type = to_azure_value(secret_type, to_document(content))
    assert content_type == f"{AZURE_CONTENT_TYPE_PREFIX}; type={secret_type}"
    read_type, read_document = from_azure_value(value, content_type)
    assert read_type == secret_type
    assert from_document(secret_type, read_document) == content


@PROPERTY
@given(typed_documents())
def test_kubernetes_data_round_trip(typed: tuple[str, dict[str, object]]) -> None:
    secret_type, document = typed
    content = parse_content(secret_type, document)
    kubernetes_type, data = to_kubernetes_data(secret_type, to_document(content))
    assert kubernetes_type == kubernetes_secret_type(secret_type)
    assert all(isinstance(value, bytes) for value in data.values())
    assert from_kubernetes_data(secret_type, data) == to_document(content)
    assert from_document(secret_type, from_kubernetes_data(secret_type, data)) == content


@pytest.mark.parametrize(
    ("secret_type", "kubernetes_type"),
    [
        pytest.param(
            t,
            {"basic-auth": "kubernetes.io/basic-auth", "certificate": "kubernetes.io/tls"}.get(t, "Opaque"),
            id=t,
        )
        for t in SECRET_TYPES
    ],
)
def test_natural_kubernetes_secret_type(secret_type: str, kubernetes_type: str) -> None:
    assert kubernetes_secret_type(secret_type) == kubernetes_type


@pytest.mark.parametrize(
    ("secret_type", "document", "expected"),
    [
        pytest.param(
            "basic-auth",
            {"username": "u", "password": "p"},
            {"username": b"u", "password": b"p"},
            id="basic-auth",
        ),
        pytest.param(
            "client-credentials",
            {"clientId": "c", "clientSecret": "s", "scopes": ["a", "b"]},
            {"clientId": b"c", "clientSecret": b"s", "scopes": b'["a","b"]'},
            id="scopes-as-json",
        ),
        pytest.param(
            "secret-key", {"secretKey": "AAEC"}, {"secretKey": b"\x00\x01\x02"}, id="secret-key-raw"
        ),
        pytest.param(
            "generic",
            {"value": "/wA=", "valueEncoding": "base64"},
            {"value": b"\xff\x00"},
            id="generic-binary-raw",
        ),
        pytest.param(
            "certificate", {"certificate": "C"}, {"tls.crt": b"C", "tls.key": b""}, id="tls-without-key"
        ),
        pytest.param(
            "certificate",
            {
                "certificate": "C",
                "privateKey": "K",
                "caCertificate": "A",
                "expiresAt": "2030-01-01T00:00:00Z",
            },
            {"tls.crt": b"C", "tls.key": b"K", "ca.crt": b"A", "expiresAt": b"2030-01-01T00:00:00Z"},
            id="tls-full",
        ),
    ],
)
def test_kubernetes_data_layout(
    secret_type: str, document: dict[str, object], expected: dict[str, bytes]
) -> None:
    assert to_kubernetes_data(secret_type, document)[1] == expected
    assert from_kubernetes_data(secret_type, expected) == document


def test_kubernetes_tls_secret_round_trips_real_pem() -> None:
    document = {"certificate": cert_pem(certificate()), "privateKey": pem_of(ec_key())}
    content = parse_content("certificate", document)
    _, data = to_kubernetes_data("certificate", to_document(content))
    assert data["tls.crt"].startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert from_document("certificate", from_kubernetes_data("certificate", data)) == content


@pytest.mark.parametrize(
    ("secret_type", "data", "field"),
    [
        pytest.param("basic-auth", {"username": b"\xff"}, "username", id="not-utf8"),
        pytest.param("client-credentials", {"scopes": b"[oops"}, "scopes", id="scopes-not-json"),
    ],
)
def test_bad_kubernetes_data_is_a_content_error(secret_type: str, data: dict[str, bytes], field: str) -> None:
    with pytest.raises(ContentError) as caught:
        from_kubernetes_data(secret_type, data)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="array"),
        pytest.param('{"a": NaN}', id="nan"),
        pytest.param('{"a": "x", "a": "y"}', id="duplicate-key"),
        pytest.param('{"password": "hunter2-secret"', id="truncated"),
    ],
)
def test_bad_json_is_a_content_error_without_the_text(text: str) -> None:
    with pytest.raises(ContentError) as caught:
        json_to_document(text)
    assert caught.value.field == "document"
    assert "hunter2" not in str(caught.value)


def test_document_json_is_compact_and_sorted() -> None:
    assert document_to_json({"b": "2", "a": ["x"]}) == '{"a":["x"],"b":"2"}'


@pytest.mark.parametrize(
    ("value", "content_type", "expected"),
    [
        pytest.param(
            '{"value":"x"}',
            f"{AZURE_CONTENT_TYPE_PREFIX}; type=generic",
            ("generic", {"value": "x"}),
            id="ours",
        ),
        pytest.param(
            '{"value":"x"}', AZURE_CONTENT_TYPE_PREFIX, (None, {"value": "x"}), id="ours-without-type"
        ),
        pytest.param('{"user":"x"}', "application/json", (None, {"user": "x"}), id="foreign-json"),
        pytest.param("plain", None, (None, {"value": "plain"}), id="foreign-plain"),
    ],
)
def test_azure_values(
    value: str, content_type: str | None, expected: tuple[str | None, dict[str, object]]
) -> None:
    assert from_azure_value(value, content_type) == expected


def test_azure_value_of_ours_must_be_json() -> None:
    with pytest.raises(ContentError):
        from_azure_value("plain", f"{AZURE_CONTENT_TYPE_PREFIX}; type=generic")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("db", "db", id="plain"),
        pytest.param("app/db/password", "app--db--password", id="slashes"),
        pytest.param("my-app/db_pw", "my-2Dapp--db-5Fpw", id="dash-underscore"),
        pytest.param("/lead", "--lead", id="leading-slash"),
        pytest.param("é", "-C3-A9", id="unicode"),
    ],
)
def test_azure_name_table(path: str, name: str) -> None:
    assert azure_name_for_path(path) == name
    assert path_for_azure_name(name) == path


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("a_b", id="bad-char"),
        pytest.param("a-", id="dangling-dash"),
        pytest.param("a-4", id="short-escape"),
        pytest.param("a-zz", id="not-hex"),
        pytest.param("a-c3-a9", id="lowercase-hex"),
        pytest.param("-41", id="escaped-alnum"),
        pytest.param("-FF", id="not-utf8"),
        pytest.param("a" * 128, id="too-long"),
    ],
)
def test_names_vaultsync_cannot_produce_are_rejected(name: str) -> None:
    with pytest.raises(ContentError):
        path_for_azure_name(name)


def test_too_long_path_is_rejected() -> None:
    with pytest.raises(ContentError, match="longer than 127"):
        azure_name_for_path("a/" * 50)


@PROPERTY
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
def test_azure_names_are_valid_and_reversible(path: str) -> None:
    try:
        name = azure_name_for_path(path)
    except ContentError:
        return
    assert AZURE_NAME.fullmatch(name)
    assert path_for_azure_name(name) == path


@PROPERTY
@given(st.text(alphabet="ab0-", min_size=1, max_size=30))
def test_azure_name_decoding_is_injective(name: str) -> None:
    try:
        path = path_for_azure_name(name)
    except ContentError:
        return
    assert azure_name_for_path(path) == name


def test_json_document_values_keep_their_types() -> None:
    doc = json_to_document('{"scopes":["a"],"n":1}')
    assert doc == {"scopes": ["a"], "n": 1}
    assert json.loads(document_to_json(doc)) == doc
