"""The .env tools: parsing a .env file, exporting SECRET_<KEY>=<base64> lines."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secret_material import PROPERTY

from vaultsync.secrets.content import parse_content
from vaultsync.secrets.dotenv import (
    content_to_env_lines,
    dotenv_to_content,
    env_variables_to_content,
    parse_dotenv,
)
from vaultsync.secrets.errors import ContentError

DOTENV = """# database
DB_USER=app
export DB_PASSWORD = 'p@ss #not-a-comment'
API_KEY=abc123 # trailing comment
EMPTY=
URL=http://x/#frag
MULTI="line1\\nline2\\t\\"q\\""
PEM="-----BEGIN X-----
AAAA
-----END X-----"
SINGLE='a\\nb'
DB_USER=override
"""


def test_parse_dotenv_handles_the_usual_syntax() -> None:
    assert parse_dotenv(DOTENV) == {
        "DB_USER": "override",
        "DB_PASSWORD": "p@ss #not-a-comment",
        "API_KEY": "abc123",
        "EMPTY": "",
        "URL": "http://x/#frag",
        "MULTI": 'line1\nline2\t"q"',
        "PEM": "-----BEGIN X-----\nAAAA\n-----END X-----",
        "SINGLE": "a\\nb",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A=1", {"A": "1"}, id="no-final-newline"),
        pytest.param("A=1\n\n\n", {"A": "1"}, id="empty-last-lines"),
        pytest.param("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}, id="crlf"),
        pytest.param("  # only comment\n", {}, id="only-comment"),
    ],
)
def test_parse_dotenv_edges(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text) == expected


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("OK=1\nno-equals-hunter2\n", "line 2", id="no-equals"),
        pytest.param("1BAD=hunter2", "line 1", id="bad-key"),
        pytest.param("A='hunter2", "line 1", id="unterminated"),
        pytest.param('A="hunter2" trailing', "line 1", id="text-after-quote"),
    ],
)
def test_parse_errors_name_the_line_not_the_value(text: str, line: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse_dotenv(text)
    assert caught.value.field == line
    assert "hunter2" not in str(caught.value)


def test_export_lines_are_base64_and_sorted() -> None:
    content = dotenv_to_content("B=two\nA=one\n")
    assert content_to_env_lines(content) == (
        f"SECRET_A={base64.b64encode(b'one').decode()}\nSECRET_B={base64.b64encode(b'two').decode()}\n"
    )


@pytest.mark.parametrize(
    ("secret_type", "document", "field"),
    [
        pytest.param("generic", {"value": "x"}, "type", id="not-key-value"),
        pytest.param("key-value", {"db.host": "x"}, "db.host", id="dotted-key"),
    ],
)
def test_export_rejects_what_cannot_be_an_environment_variable(
    secret_type: str, document: dict[str, object], field: str
) -> None:
    with pytest.raises(ContentError) as caught:
        content_to_env_lines(parse_content(secret_type, document))
    assert caught.value.field == field


ENV_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
VALUES = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@PROPERTY
@given(st.dictionaries(ENV_KEYS, VALUES, min_size=1, max_size=6))
def test_export_then_read_back_is_lossless(values: dict[str, str]) -> None:
    content = parse_content("key-value", values)
    lines = content_to_env_lines(content)
    environ = dict(line.split("=", 1) for line in lines.splitlines())
    assert env_variables_to_content(environ | {"PATH": "/bin"}) == content


@PROPERTY
@given(
    st.dictionaries(
        ENV_KEYS, st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30), min_size=1, max_size=6
    )
)
def test_double_quoted_dotenv_round_trip(values: dict[str, str]) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    text = "".join(f"export {key}={quote(value)}\n" for key, value in values.items())
    assert parse_dotenv(text) == values
