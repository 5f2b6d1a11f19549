"""Fuzzing of every parser of the secret model with malformed input.

Each generated string carries a canary at both ends; whatever the parser rejects, it must reject
with our own error type, and the canary (so any prefix or suffix of a value) must not appear in
the message. Valid documents mutated field by field reach the deeper parsers (PEM, DER, PKCS#12,
JWT) that purely random input rarely gets past.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st
from secret_material import FUZZ, PROPERTY, typed_documents

from vaultsync.secrets.content import SECRET_TYPES, parse_content
from vaultsync.secrets.dotenv import env_variables_to_content, parse_dotenv
from vaultsync.secrets.errors import ContentError, TemplateError
from vaultsync.secrets.fields import FIELD_NAMES
from vaultsync.secrets.formats import (
    from_azure_value,
    from_kubernetes_data,
    json_to_document,
    path_for_azure_name,
)
from vaultsync.secrets.templates import render_template
from vaultsync.secrets.versions import VersionRecord

CANARY = "Qz7canaryX"
FIELD_NAMES_ALL = sorted(
    {name for names in FIELD_NAMES.values() for group in names for name in group} | {"expiresAt"}
)

canary_text = st.text(max_size=30).map(lambda text: f"{CANARY}{text}{CANARY}")
canary_bytes = st.binary(max_size=30).map(lambda data: CANARY.encode() + data + CANARY.encode())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    canary_text,
    canary_bytes,
    st.sampled_from([f"-----BEGIN CERTIFICATE-----\n{CANARY}\n-----END CERTIFICATE-----", f"a.{CANARY}.b"]),
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
keys = st.one_of(st.sampled_from(FIELD_NAMES_ALL), st.text(max_size=12))
random_documents = st.dictionaries(keys, json_like, max_size=6)


def assert_clean(error: Exception) -> None:
    message = str(error)
    assert CANARY not in message, message
    assert CANARY[:6] not in message, message


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A valid document with one field truncated, spliced with a canary, retyped, dropped or added."""
    secret_type, document = draw(typed_documents())
    document = dict(document)
    name = draw(st.sampled_from(sorted(set(document) - {"expiresAt"}) or ["expiresAt"]))
    value = document[name]
    mutation = draw(st.sampled_from(["truncate", "splice", "retype", "drop", "add", "flip"]))
    if mutation == "truncate" and isinstance(value, str):
        document[name] = value[: draw(st.integers(0, max(len(value) - 1, 0)))] + CANARY
    elif mutation == "splice" and isinstance(value, str):
        position = draw(st.integers(0, len(value)))
        document[name] = value[:position] + CANARY + draw(st.text(max_size=5)) + value[position:]
    elif mutation == "flip" and isinstance(value, str) and value:
        position = draw(st.integers(0, len(value) - 1))
        document[name] = value[:position] + draw(st.characters()) + value[position + 1 :] + CANARY
    elif mutation == "retype":
        document[name] = draw(json_like)
    elif mutation == "drop":
        del document[name]
    else:
        document[draw(keys)] = draw(json_like)
    return draw(st.sampled_from([secret_type] * 10 + list(SECRET_TYPES))), document


def expect_only(error_type: type[Exception], call: Callable[[], object]) -> None:
    try:
        call()
    except error_type as error:
        assert_clean(error)


@FUZZ
@given(
    st.one_of(mutated_documents(), st.tuples(st.sampled_from([*SECRET_TYPES, "nope", ""]), random_documents))
)
def test_fuzz_parse_content_raises_only_content_error_without_values(
    typed: tuple[str, dict[str, object]],
) -> None:
    secret_type, document = typed
    try:
        content = parse_content(secret_type, document)
    except ContentError as error:
        assert_clean(error)
        return
    assert CANARY not in repr(content)


@PROPERTY
@given(st.one_of(canary_text, json_like.map(lambda value: repr(value) + CANARY)))
def test_fuzz_json_documents(text: str) -> None:
    expect_only(ContentError, lambda: json_to_document(text))


@PROPERTY
@given(
    st.sampled_from(SECRET_TYPES),
    st.dictionaries(
        st.sampled_from(
            ["tls.crt", "tls.key", "ca.crt", "scopes", "value", "secretKey", "keystore", "username", "x"]
        ),
        canary_bytes,
        max_size=4,
    ),
)
def test_fuzz_kubernetes_data(secret_type: str, data: dict[str, bytes]) -> None:
    expect_only(ContentError, lambda: parse_content(secret_type, from_kubernetes_data(secret_type, data)))


@PROPERTY
@given(canary_text, st.one_of(st.none(), st.text(max_size=60)))
def test_fuzz_azure_values_and_names(value: str, content_type: str | None) -> None:
    expect_only(ContentError, lambda: from_azure_value(value, content_type))
    expect_only(ContentError, lambda: path_for_azure_name(value))
    expect_only(ContentError, lambda: path_for_azure_name(value.replace(CANARY, "")))


@PROPERTY
@given(
    st.lists(
        st.one_of(canary_text, st.sampled_from(["export A='", 'B="x', "#c", "", "C=1 # x", "D=\\"])),
        max_size=8,
    )
)
def test_fuzz_dotenv(lines: list[str]) -> None:
    expect_only(ContentError, lambda: parse_dotenv("\n".join(lines)))


@PROPERTY
@given(st.dictionaries(st.text(max_size=10).map(lambda key: "SECRET_" + key), canary_text, max_size=4))
def test_fuzz_env_variables(environ: dict[str, str]) -> None:
    encoded = {
        name: base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()
        for name, value in environ.items()
    }
    for candidate in (environ, encoded):
        expect_only(ContentError, lambda candidate=candidate: env_variables_to_content(candidate))


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["version", "fingerprint", "vaultProfile", "sourceVersion", "createdAt", "x"]),
        json_like,
        max_size=6,
    )
)
def test_fuzz_version_records(entry: dict[str, object]) -> None:
    expect_only(ContentError, lambda: VersionRecord.from_status(entry))


SECRET_FOR_TEMPLATES = parse_content("basic-auth", {"username": "app", "password": CANARY + "pw" + CANARY})


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(
            st.sampled_from(
                [
                    "{{",
                    "}}",
                    "{%",
                    "%}",
                    "secret",
                    ".",
                    "password",
                    "SECRETS",
                    "x",
                    "|",
                    "__class__",
                    "[",
                    "]",
                    "'",
                    "(",
                    ")",
                    "+",
                    "1",
                    " ",
                    "if",
                    "for",
                    "in",
                    "endfor",
                    "endif",
                ]
            ),
            max_size=14,
        ).map("".join),
    )
)
def test_fuzz_templates_raise_only_template_error_without_values(template: str) -> None:
    expect_only(
        TemplateError,
        lambda: render_template(template, SECRET_FOR_TEMPLATES, {"other": SECRET_FOR_TEMPLATES}),
    )
