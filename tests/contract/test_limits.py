"""Each target's size limit is checked before the write sends anything, on every real server.

Emulators are laxer than the services (moto stores 2 MB where AWS refuses 64 KiB), so the
backend refuses by itself with :class:`TooLarge` naming the path, the limit and the size; the
target keeps what it had. What fits exactly is accepted by the real API server and by moto.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract.conftest import TARGETS, Target
from vaultsync.backends.errors import InvalidConfig, NotFound
from vaultsync.backends.limits import (
    AWS_SECRET_STRING_BYTES,
    AZURE_SECRET_VALUE_BYTES,
    KUBERNETES_SECRET_BYTES,
    VAULT_MAX_REQUEST_BYTES,
    TooLarge,
)

pytestmark = pytest.mark.stack

OWNER = "team-a/big"
LIMITS = {
    "openbao-kv2": VAULT_MAX_REQUEST_BYTES,
    "openbao-kv1": VAULT_MAX_REQUEST_BYTES,
    "moto": AWS_SECRET_STRING_BYTES,
    "kube": KUBERNETES_SECRET_BYTES,
    "lowkey": AZURE_SECRET_VALUE_BYTES,
    "keyvault-protocol-server": AZURE_SECRET_VALUE_BYTES,
}
OVERHEAD = {"moto": len('{"v":""}'), "kube": len("v")}
"""Bytes a key-value document ``{"v": value}`` adds around its value in that target."""


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.azure] if name == "azure" else [])
        for name in sorted(TARGETS)
        if name != "memory"  # the unit tests' in-memory vault: no server, no size limit
    ]
)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    yield from TARGETS[request.param](request)


def _document(size: int) -> dict[str, str]:
    return {"v": "x" * size}


def test_an_oversized_write_is_refused_before_sending_and_the_target_keeps_its_content(
    target: Target,
) -> None:
    limit = LIMITS[target.name]
    path = target.path_for("big")
    small = {"v": "fits"}
    version = target.backend.write(path, "key-value", small, owner=OWNER, expected_version=None)
    before = target.backend.calls.snapshot()

    with pytest.raises(TooLarge) as refused:
        target.backend.write(path, "key-value", _document(limit + 1), owner=OWNER, expected_version=version)

    assert isinstance(refused.value, InvalidConfig), "no retry can help: the content must shrink"
    assert refused.value.limit == limit
    assert refused.value.size > limit
    message = str(refused.value)
    assert f"limit of {limit} bytes" in message
    assert f"{refused.value.size} bytes" in message
    assert path.split("/")[-1] in message
    assert target.backend.calls.snapshot() == before, "nothing may be sent for a refused write"
    after = target.backend.read(path)
    assert (after.document, after.version) == (small, version)


def test_an_oversized_first_write_creates_nothing(target: Target) -> None:
    path = target.path_for("big-new")
    with pytest.raises(TooLarge):
        target.backend.write(
            path, "key-value", _document(LIMITS[target.name] + 1), owner=OWNER, expected_version=None
        )
    with pytest.raises(NotFound):
        target.backend.read(path)


@pytest.mark.parametrize("name", sorted(OVERHEAD))
def test_content_exactly_at_the_limit_is_accepted_by_the_real_server(
    request: pytest.FixtureRequest, name: str
) -> None:
    from contract.conftest import TARGETS  # noqa: PLC0415

    fixture = TARGETS[name](request)
    target = next(fixture)
    try:
        path = target.path_for("at-limit")
        document = _document(LIMITS[name] - OVERHEAD[name])
        version = target.backend.write(path, "key-value", document, owner=OWNER, expected_version=None)
        assert target.backend.read(path).version == version
        with pytest.raises(TooLarge):
            target.backend.write(
                path, "key-value", {"v": document["v"] + "x"}, owner=OWNER, expected_version=version
            )
    finally:
        next(fixture, None)
