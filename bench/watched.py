"""The benchmark's objects of one kind, kept current by one LIST and a watch.

The benchmark used to LIST every Secret and every ManagedSecret each second or two to see how far
the operator had got. At 10,000 objects those LISTs were a large share of the apiserver's CPU, on
the same two cores as the operator, so the benchmark slowed down what it measured. A watch costs
the apiserver one encoding per change, and it gives the time of each change to the event instead
of to the next poll.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes.watch.watch import iter_resp_lines

WATCH_SECONDS = 60


class Watched:
    """name -> ``extract(object)`` for every object ``list_func(*args)`` lists, and when each
    value last changed (``time.monotonic()``). Call :meth:`start` before the operator runs."""

    def __init__(
        self, list_func: Callable[..., Any], args: tuple[Any, ...], extract: Callable[[Any], Any]
    ) -> None:
        self._func, self._args, self._extract = list_func, args, extract
        self._values: dict[str, Any] = {}
        self._changed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._listed = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)
        self.relists = 0

    def start(self) -> Watched:
        self._thread.start()
        if not self._listed.wait(600):
            raise TimeoutError("the first LIST did not finish")
        return self

    def stop(self) -> None:
        self._stopping.set()

    def values(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def settled(self, wanted: Mapping[str, Any]) -> float | None:
        """When the last of ``wanted`` took its wanted value, if every one holds it now."""
        with self._lock:
            if any(self._values.get(name) != value for name, value in wanted.items()):
                return None
            return max((self._changed_at[name] for name in wanted), default=time.monotonic())

    def changed_at(self, name: str) -> float | None:
        with self._lock:
            return self._changed_at.get(name)

    def _set(self, name: str, value: Any, now: float) -> None:
        if name not in self._values or self._values[name] != value:
            self._values[name] = value
            self._changed_at[name] = now

    def _list(self) -> str:
        token, version, listed = None, "", {}
        while True:
            response = self._func(*self._args, limit=500, _continue=token, _preload_content=False)
            page = json.loads(response.data)
            version = version or page["metadata"]["resourceVersion"]
            for item in page["items"]:
                listed[item["metadata"]["name"]] = self._extract(item)
            token = page["metadata"].get("continue")
            if not token:
                break
        now = time.monotonic()
        with self._lock:
            for name in set(self._values) - set(listed):
                del self._values[name]
            for name, value in listed.items():
                self._set(name, value, now)
        return version

    def _watch(self, version: str) -> str:
        response = self._func(
            *self._args,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )
        try:
            for line in iter_resp_lines(response):
                event = json.loads(line)
                item = event["object"]
                if event["type"] == "ERROR":
                    raise RuntimeError(f"watch ended: {item.get('reason')} (HTTP {item.get('code')})")
                version = item["metadata"]["resourceVersion"]
                if event["type"] == "BOOKMARK":
                    continue
                name, now = item["metadata"]["name"], time.monotonic()
                with self._lock:
                    if event["type"] == "DELETED":
                        self._values.pop(name, None)
                    else:
                        self._set(name, self._extract(item), now)
                if self._stopping.is_set():
                    break
        finally:
            response.release_conn()
        return version

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                version = self._list()
                self._listed.set()
                while not self._stopping.is_set():
                    version = self._watch(version)
            except Exception:  # an overloaded apiserver, or 410 Gone: list again
                self.relists += 1
                time.sleep(1)


def phase_of(item: Mapping[str, Any]) -> str:
    return str((item.get("status") or {}).get("phase"))
