"""Resource specs parsed into the typed ``api`` models once per generation.

Every step of a sync reads ``ManagedSecretSpec`` (and a profile's ``VaultProfileSpec``), not the
raw body. The apiserver bumps ``metadata.generation`` on every change of a spec, so (uid,
generation) names one spec for good: a sync, the scheduler's hooks right after it, the deletion
and the templates that reference it share one parse (about 0.1 ms each, measured on a source, a
sync target and a Kubernetes Secret). Only bodies the apiserver has stored (watch events, GETs)
may be looked up here: an admission request carries a generation that is not final until its
write succeeds, so the webhooks call :func:`parse_spec`.

A spec the model does not fit is remembered as such: the same generation fails the same way
without being parsed again. One entry per object, the least recently used goes first.
Thread-safe: syncs run in worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from vaultsync.api.codec import ModelError
from vaultsync.api.managedsecret import ManagedSecretSpec

DEFAULT_SIZE = 1024
"""About 1.3 KB per parsed spec: a bound that costs little and holds every object a burst of
syncs and their hooks touch together."""

SpecT = TypeVar("SpecT")


def parse_spec(body: Mapping[str, Any]) -> ManagedSecretSpec:
    """The typed spec of a ManagedSecret body; :class:`ModelError` names the field (``spec.source``)."""
    return ManagedSecretSpec.from_dict(body.get("spec") or {}, path="spec")


class _Unfit(NamedTuple):
    """What a :class:`ModelError` said, kept instead of the error itself."""

    path: str
    problem: str


class ParsedSpecs(Generic[SpecT]):
    """Specs parsed by ``parse``, by uid, each for one generation; bodies without uid or generation
    are parsed every time (nothing names their spec for good)."""

    def __init__(self, parse: Callable[[Mapping[str, Any]], SpecT], size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("a spec cache holds at least one spec")
        self.size = size
        self._parse = parse
        self._lock = threading.Lock()
        self._parsed: OrderedDict[str, tuple[int, SpecT | _Unfit]] = OrderedDict()
        """uid -> (generation, spec or what its ModelError said)."""

    def __len__(self) -> int:
        with self._lock:
            return len(self._parsed)

    def parse(self, body: Mapping[str, Any]) -> SpecT:
        """The typed spec of a stored body; raises :class:`ModelError` when it does not fit."""
        meta = body.get("metadata") or {}
        uid, generation = meta.get("uid"), meta.get("generation")
        if not uid or generation is None:
            return self._parse(body)
        key, generation = str(uid), int(generation)
        with self._lock:
            entry = self._parsed.get(key)
            if entry is not None and entry[0] == generation:
                self._parsed.move_to_end(key)
                return _parsed_or_raise(entry[1])
        parsed: SpecT | _Unfit
        try:
            parsed = self._parse(body)
        except ModelError as e:
            parsed = _Unfit(e.path, e.problem)
        with self._lock:
            self._parsed[key] = (generation, parsed)
            self._parsed.move_to_end(key)
            while len(self._parsed) > self.size:
                self._parsed.popitem(last=False)
        return _parsed_or_raise(parsed)


class SpecCache(ParsedSpecs[ManagedSecretSpec]):
    """ManagedSecret specs parsed once per generation."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        # Looked up at each call, not bound now, so that a test can count the parses.
        super().__init__(lambda body: parse_spec(body), size)  # noqa: PLW0108


def _parsed_or_raise(parsed: SpecT | _Unfit) -> SpecT:
    if isinstance(parsed, _Unfit):
        raise ModelError(*parsed)  # a new error each time: a kept one would grow its traceback
    return parsed
