"""The sync engine on its own, with its dependencies passed in: in-memory vaults that pass the
backend contract (``tests/memory_vault.py``) and a Kubernetes API that nothing may call.

A ManagedSecret here has vault targets only, so a sync needs no API server: the test proves it
by pointing the engine's API client at a closed port, where any call would fail the sync.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import pytest

from memory_vault import MemoryVault
from vaultsync.backends.interface import Backend, Credentials
from vaultsync.backends.kube_http import KubeConnection, KubeHttp
from vaultsync.backends.registry import BackendContext
from vaultsync.sync import spec_cache
from vaultsync.sync.engine import SyncEngine
from vaultsync.sync.kubeapi import KubeApi
from vaultsync.sync.profiles import ProfileResolver
from vaultsync.sync.settings import OperatorSettings

KEY = b"k" * 32
NAMESPACE = "team"
OWNER = f"{NAMESPACE}/db"
SOURCE_PATH = "app/db"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _profile(name: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": NAMESPACE, "name": name, "uid": f"uid-{name}", "generation": 1},
        # No auth method: the in-memory vault needs no login, and no credential Secret is read.
        "spec": {"provider": {"hashicorp": {"address": "http://vault.test", "auth": {}, "pathPrefix": name}}},
    }


def _managed_secret(
    *targets: str, generation: int = 1, status: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "vaultsync.io/v1alpha1",
        "kind": "ManagedSecret",
        "metadata": {"namespace": NAMESPACE, "name": "db", "uid": "uid-db", "generation": generation},
        "spec": {
            "type": "key-value",
            "source": {"vaultProfile": {"name": "source"}, "path": SOURCE_PATH},
            "syncTargets": [{"vaultProfile": {"name": name}, "path": f"copies/{name}"} for name in targets],
        },
        "status": dict(status or {}),
    }


class Stack:
    """The engine and the vaults it was given, by profile name."""

    def __init__(self) -> None:
        self.vaults = {name: MemoryVault(name) for name in ("source", "copy-a", "copy-b")}

        def build(
            provider_key: str,
            spec: Mapping[str, Any],
            credentials: Credentials | None = None,
            *,
            context: BackendContext | None = None,
        ) -> Backend:
            return self.vaults[str(spec["pathPrefix"])]

        self.kube = KubeApi(
            KubeHttp(KubeConnection(server=f"http://127.0.0.1:{_closed_port()}"), timeout=(1, 1))
        )
        settings = OperatorSettings(namespace="vaultsync-system", environ={})
        self.profiles = ProfileResolver(self.kube, settings, guard=None, build_backend=build)  # type: ignore[arg-type]
        for name in self.vaults:
            self.profiles.remember(_profile(name))
        self.engine = SyncEngine(self.kube, self.profiles, settings, KEY)

    def sync(self, body: dict[str, Any]) -> Any:
        result = self.engine.sync(body)
        body["status"] = result.status  # what the status PATCH would have written
        return result


@pytest.fixture
def stack() -> Stack:
    built = Stack()
    built.vaults["source"].write(
        SOURCE_PATH,
        "key-value",
        {"user": "app", "password": "p-1"},
        owner="admin/seed",
        expected_version=None,
    )
    return built


def _targets(result: Any) -> dict[str, str]:
    return {str(t.get("path")): str(t.get("state")) for t in result.status.get("targets") or []}


def test_a_first_sync_copies_the_source_to_every_target_and_a_second_writes_nothing(stack: Stack) -> None:
    body = _managed_secret("copy-a", "copy-b")
    first = stack.sync(body)
    assert not first.failed
    assert first.status["phase"] == "Synced"
    for name in ("copy-a", "copy-b"):
        copy = stack.vaults[name].read(f"copies/{name}")
        assert copy.document == {"user": "app", "password": "p-1"}
        assert (copy.metadata.managed, copy.metadata.owner) == (True, OWNER)
    writes = sum(v.calls.snapshot()["write"] for v in stack.vaults.values())
    again = stack.sync(body)
    assert again.status["phase"] == "Synced"
    assert sum(v.calls.snapshot()["write"] for v in stack.vaults.values()) == writes, "nothing changed"
    assert stack.kube.writes.total() == 0, "vault targets only: no Kubernetes write"


def test_a_changed_source_reaches_every_target(stack: Stack) -> None:
    body = _managed_secret("copy-a", "copy-b")
    stack.sync(body)
    current = stack.vaults["source"].read(SOURCE_PATH).version
    stack.vaults["source"].write(
        SOURCE_PATH,
        "key-value",
        {"user": "app", "password": "p-2"},
        owner="admin/seed",
        expected_version=current,
    )
    result = stack.sync(body)
    assert result.status["phase"] == "Synced"
    for name in ("copy-a", "copy-b"):
        assert stack.vaults[name].read(f"copies/{name}").document["password"] == "p-2"
    assert "p-2" not in repr(result.status), "a value never appears in status"


def test_an_edit_made_outside_vaultsync_is_restored(stack: Stack) -> None:
    body = _managed_secret("copy-a")
    stack.sync(body)
    stack.vaults["copy-a"].tamper("copies/copy-a", {"user": "app", "password": "edited"})
    stack.sync(body)
    assert stack.vaults["copy-a"].read("copies/copy-a").document["password"] == "p-1"


def test_a_secret_vaultsync_does_not_own_is_left_alone_and_the_other_target_is_written(stack: Stack) -> None:
    stack.vaults["copy-a"].plant("copies/copy-a", {"someone": "else"})
    result = stack.sync(_managed_secret("copy-a", "copy-b"))
    assert result.failed
    assert stack.vaults["copy-a"].read("copies/copy-a").document == {"someone": "else"}
    assert stack.vaults["copy-b"].read("copies/copy-b").document["password"] == "p-1"
    states = list(_targets(result).values())
    assert sorted(states) == ["Failed", "Synced"], states


def test_a_source_outage_writes_nothing_and_fails_to_be_retried(stack: Stack) -> None:
    body = _managed_secret("copy-a")
    with stack.vaults["source"].outage():
        result = stack.sync(body)
    assert result.failed
    assert result.status["phase"] == "Failed"
    assert stack.vaults["copy-a"].documents() == {}
    assert stack.sync(body).status["phase"] == "Synced", "retried once the vault is back"


@pytest.mark.parametrize(
    ("unfit", "field"),
    [
        pytest.param(
            {"syncTargets": [{"vaultProfile": {"name": "copy-a"}}]}, "spec.syncTargets[0].path", id="missing"
        ),
        pytest.param({"adopt": "p-1"}, "spec.adopt", id="wrong-type"),
        pytest.param({"type": "opaque-blob"}, "spec.type", id="unknown-enum"),
    ],
)
def test_a_spec_the_model_does_not_fit_fails_naming_the_field_and_touches_no_vault(
    stack: Stack, unfit: dict[str, Any], field: str
) -> None:
    """An older CRD let in a spec this operator's model refuses: Failed, not a crashed sync."""
    body = _managed_secret("copy-a")
    body["spec"].update(unfit)
    calls = sum(v.calls.total() for v in stack.vaults.values())
    result = stack.sync(body)
    assert result.status["phase"] == "Failed"
    assert not result.failed, "no retry with backoff: the same generation fails the same way"
    ready = next(c for c in result.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("False", "InvalidSpec", 1)
    assert field in ready["message"]
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "InvalidSpec")]
    assert sum(v.calls.total() for v in stack.vaults.values()) == calls, "nothing read or written"
    assert stack.vaults["copy-a"].documents() == {}
    assert "p-1" not in repr(result.status) + repr(result.events), "a value never appears in status"


def test_an_unfit_spec_is_parsed_once_per_generation_and_its_next_generation_syncs(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    parse = spec_cache.parse_spec

    def counted(body: Mapping[str, Any]) -> Any:
        parsed.append(body["metadata"]["generation"])
        return parse(body)

    monkeypatch.setattr(spec_cache, "parse_spec", counted)
    body = _managed_secret("copy-a")
    del body["spec"]["syncTargets"][0]["path"]
    first = stack.sync(body)
    again = stack.sync(body)
    assert again.status == first.status, "the same generation: the same status, no PATCH"
    assert parsed == [1]
    fixed = _managed_secret("copy-a", generation=2, status=body["status"])
    result = stack.sync(fixed)
    assert result.status["phase"] == "Synced"
    assert stack.vaults["copy-a"].read("copies/copy-a").document["password"] == "p-1"
    assert parsed == [1, 2]


def test_a_profile_the_model_does_not_fit_fails_the_sync_naming_the_field(stack: Stack) -> None:
    unfit = _profile("copy-a")
    unfit["metadata"]["generation"] = 2
    unfit["spec"]["rateLimit"] = {"burst": "p-1"}
    stack.profiles.remember(unfit)
    result = stack.sync(_managed_secret("copy-a"))
    assert result.status["phase"] == "Failed"
    ready = next(c for c in result.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ProfileNotReady")
    assert "VaultProfile team/copy-a" in ready["message"]
    assert "model at spec.rateLimit.burst: expected an integer" in ready["message"]
    assert stack.vaults["copy-a"].documents() == {}
    assert "p-1" not in repr(result.status) + repr(result.events), "a value never appears in status"


def _calls(vault: MemoryVault) -> dict[str, int]:
    return dict(vault.calls.snapshot())


def test_a_new_managed_secret_creates_its_copies_without_reading_them(stack: Stack) -> None:
    body = _managed_secret("copy-a", "copy-b")
    assert stack.sync(body).status["phase"] == "Synced"
    for name in ("copy-a", "copy-b"):
        assert _calls(stack.vaults[name]) == {"create": 1}, "one call per new copy"
        stack.vaults[name].calls.reset()
    assert stack.sync(body).status["phase"] == "Synced"
    for name in ("copy-a", "copy-b"):
        assert _calls(stack.vaults[name]) == {"read": 1}, "status records the copies: read, then nothing"


def test_a_copy_of_ours_that_already_holds_the_content_is_not_written_again(stack: Stack) -> None:
    stack.sync(_managed_secret("copy-a"))
    version = stack.vaults["copy-a"].read("copies/copy-a").version
    stack.vaults["copy-a"].calls.reset()
    result = stack.sync(_managed_secret("copy-a"))  # its status lost: no target recorded
    assert result.status["phase"] == "Synced"
    assert _calls(stack.vaults["copy-a"]) == {"create": 1, "read": 1}, "the create was refused; no write"
    assert stack.vaults["copy-a"].read("copies/copy-a").version == version
    assert result.status["targets"][0]["version"] == version


def test_a_soft_deleted_copy_of_an_earlier_managed_secret_of_the_name_comes_back_with_its_versions(
    stack: Stack,
) -> None:
    stack.sync(_managed_secret("copy-a"))
    kept = stack.vaults["copy-a"].read("copies/copy-a").version
    stack.vaults["copy-a"].delete("copies/copy-a", owner=OWNER, recovery_days=7)
    stack.vaults["copy-a"].calls.reset()
    stack.vaults["source"].write(
        SOURCE_PATH,
        "key-value",
        {"user": "app", "password": "p-2"},
        owner="admin/seed",
        expected_version=stack.vaults["source"].read(SOURCE_PATH).version,
    )
    result = stack.sync(_managed_secret("copy-a"))  # the same name, created again
    assert result.status["phase"] == "Synced"
    assert ("Normal", "Restored") in [(e.type, e.reason) for e in result.events]
    calls = _calls(stack.vaults["copy-a"])
    assert (calls["create"], calls["restore"], calls["write"]) == (1, 1, 1), calls
    restored = stack.vaults["copy-a"].read("copies/copy-a")
    assert restored.document["password"] == "p-2"
    assert int(restored.version) > int(kept), "written over the restored copy, not recreated"


def test_a_name_someone_else_holds_is_not_written_by_the_create(stack: Stack) -> None:
    stack.vaults["copy-a"].plant("copies/copy-a", {"someone": "else"})
    result = stack.sync(_managed_secret("copy-a"))
    assert _targets(result) == {"copies/copy-a": "Failed"}
    assert "without the managed-by: vaultsync mark" in result.status["targets"][0]["message"]
    assert _calls(stack.vaults["copy-a"]) == {"create": 1, "read": 1, "write": 1}, "refused, looked, refused"
    assert stack.vaults["copy-a"].read("copies/copy-a").document == {"someone": "else"}
