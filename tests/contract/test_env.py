"""The env backend's own read-only cases: SECRET_<NAME> base64 variables, refusal of writes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultsync.backends.env import EnvBackend
from vaultsync.backends.errors import InvalidConfig, NotFound
from vaultsync.backends.interface import Backend
from vaultsync.backends.registry import BackendContext, create_backend
from vaultsync.secrets.encoding import decode_base64


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


ENVIRON = {
    "SECRET_PLAIN": _b64("s3cr3t"),
    "SECRET_JSON": _b64(json.dumps({"username": "u", "password": "p"})),
    "SECRET_BINARY": _b64(b"\xff\x00\xfe"),
    "SECRET_NOT_B64": "%%%",
    "SECRET_BRACE": _b64("{not json"),
    "OTHER": _b64("ignored"),
}


@pytest.mark.parametrize(
    ("path", "document"),
    [
        pytest.param("PLAIN", {"value": "s3cr3t"}, id="text-is-generic-value"),
        pytest.param("JSON", {"username": "u", "password": "p"}, id="json-object-is-the-document"),
        pytest.param("BINARY", {"value": "/wD+", "valueEncoding": "base64"}, id="binary-stays-base64"),
        pytest.param("BRACE", {"value": "{not json"}, id="brace-but-not-json"),
    ],
)
def test_reads(path: str, document: dict[str, Any]) -> None:
    remote = EnvBackend(ENVIRON).read(path)
    assert remote.document == document
    assert not remote.metadata.managed


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param("MISSING", NotFound, id="unset-variable"),
        pytest.param("NOT_B64", InvalidConfig, id="not-base64"),
        pytest.param("team/db", InvalidConfig, id="slash-in-name"),
        pytest.param("", InvalidConfig, id="empty-name"),
    ],
)
def test_read_errors(path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        EnvBackend(ENVIRON).read(path)


WRITES: list[tuple[str, Callable[[Backend], object]]] = [
    ("write", lambda b: b.write("PLAIN", "generic", {"value": "x"}, owner="a/b", expected_version=None)),
    ("delete", lambda b: b.delete("PLAIN", owner="a/b")),
    ("restore", lambda b: b.restore("PLAIN")),
    ("set-enabled", lambda b: b.set_enabled("PLAIN", False, owner="a/b")),
]


@pytest.mark.parametrize("operation", [op for _, op in WRITES], ids=[name for name, _ in WRITES])
def test_every_write_side_operation_is_refused_clearly(operation: Callable[[Backend], object]) -> None:
    with pytest.raises(InvalidConfig, match="read-only"):
        operation(EnvBackend(ENVIRON))


def test_versions_change_with_the_value_and_never_expose_it() -> None:
    environ = dict(ENVIRON)
    backend = EnvBackend(environ)
    before = backend.read("PLAIN").version
    assert backend.read("PLAIN").version == before
    assert "s3cr3t" not in before
    assert ENVIRON["SECRET_PLAIN"] not in before
    environ["SECRET_PLAIN"] = _b64("rotated")
    assert backend.read("PLAIN").version != before


def test_change_listing_sees_set_changed_and_unset_variables() -> None:
    environ = dict(ENVIRON)
    backend = EnvBackend(environ)
    first = backend.list_changes(None)
    assert first.changed == {"PLAIN", "JSON", "BINARY", "NOT_B64", "BRACE"}
    environ["SECRET_PLAIN"] = _b64("rotated")
    environ["SECRET_NEW"] = _b64("n")
    del environ["SECRET_JSON"]
    assert backend.list_changes(first.marker).changed == {"PLAIN", "NEW", "JSON"}
    assert backend.list_changes(first.marker, ["BINARY", "PLAIN"]).changed == {"PLAIN"}


def test_registry_builds_it_with_a_custom_prefix() -> None:
    backend = create_backend(
        "env", {"prefix": "APP_"}, context=BackendContext(environ={"APP_TOKEN": _b64("t")})
    )
    assert backend.read("TOKEN").document == {"value": "t"}
    assert not backend.capabilities.writable
    assert backend.verify_permissions().ok


@given(st.binary(max_size=256))
def test_any_bytes_survive_the_round_trip(data: bytes) -> None:
    document = EnvBackend({"SECRET_X": _b64(data)}).read("X").document
    if document.get("valueEncoding") == "base64":
        assert decode_base64(str(document["value"]), "value") == data
    elif set(document) == {"value"}:
        assert str(document["value"]).encode() == data
    else:
        assert json.loads(data) == document
