"""A namespace relabelled while a sync reads its labels: the watch event's labels win, and the
namespace's ManagedSecrets are told to check again (the read's answer may predate the event)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from vaultsync.sync.profiles import ProfileResolver
from vaultsync.sync.settings import OperatorSettings


class _SlowNamespaces:
    """Answers the labels the namespace had before the relabel, once released."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        self.asked.set()
        self.release.wait(10)
        return {"vaultsync.io/tenant": "a"}


def _resolver(kube: object) -> ProfileResolver:
    return ProfileResolver(kube, OperatorSettings(environ={}), guard=None)  # type: ignore[arg-type]


def test_an_event_during_the_read_wins_and_asks_for_another_check() -> None:
    kube = _SlowNamespaces()
    resolver = _resolver(kube)
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(resolver._namespace_labels, "team")
        assert kube.asked.wait(10)
        assert resolver.namespace_relabelled("team", {}), "the sync in flight may have read old labels"
        kube.release.set()
        assert reading.result(10) == {}, "the event is newer than the read's answer"
    assert resolver._namespace_labels("team") == {}


def test_a_namespace_nobody_reads_is_not_cached_by_its_events() -> None:
    resolver = _resolver(_SlowNamespaces())
    assert not resolver.namespace_relabelled("elsewhere", {"a": "b"})
    assert "elsewhere" not in resolver._ns_labels
