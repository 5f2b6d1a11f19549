"""Which vault paths are watched, by which ManagedSecret, with which version token.

The scheduler polls each VaultProfile once its earliest watched path is due: one change
listing covers every path of the profile that is due (or nearly), and only owners whose
path moved are queued. So a change is seen within one refresh interval (+ jitter), and a
steady state costs one listing call per watched path per interval and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SLACK = 0.1
"""A path due within this fraction of its interval joins the listing of an earlier one."""


class Watchable(Protocol):
    """What the tracker needs of a resolved VaultProfile."""

    @property
    def key(self) -> Hashable: ...

    @property
    def backend(self) -> Any: ...


@dataclass(slots=True)
class _Path:
    owners: dict[str, tuple[str | None, float, float]] = field(default_factory=dict)
    """Owner -> (token it last saw, when it registered, its refresh interval)."""
    checked: float = 0.0
    shortest: float = math.inf
    """The shortest refresh interval of its owners, kept as owners come and go."""

    def add(self, owner: str, token: str | None, now: float, interval: float) -> None:
        previous = self.owners.get(owner)
        self.owners[owner] = (token, now, interval)
        if previous is not None and previous[2] == self.shortest and interval > self.shortest:
            self._recompute()
        else:
            self.shortest = min(self.shortest, interval)

    def remove(self, owner: str) -> None:
        previous = self.owners.pop(owner, None)
        if previous is not None and previous[2] == self.shortest:
            self._recompute()

    def _recompute(self) -> None:
        self.shortest = min((interval for _, _, interval in self.owners.values()), default=math.inf)

    def due_at(self) -> float:
        return self.checked + self.shortest


@dataclass(slots=True)
class _Profile:
    profile: Watchable
    paths: dict[str, _Path] = field(default_factory=dict)
    earliest: float | None = None
    """No later than the earliest due time of its paths; None: compute it again. A sync adds
    paths one at a time, and scanning every path of the profile after each (the next poll's
    time) made an initial sync quadratic: kept as a bound instead, made exact at each poll."""


class ChangeTracker:
    def __init__(self) -> None:
        self._profiles: dict[Hashable, _Profile] = {}
        self._owned: dict[str, set[tuple[Hashable, str]]] = {}

    def __len__(self) -> int:
        return sum(len(p.paths) for p in self._profiles.values())

    def remember(
        self, owner: str, entries: Iterable[tuple[Watchable, str, str | None]], interval: float, now: float
    ) -> set[Hashable]:
        """Replaces what ``owner`` watches; returns the profiles it now watches."""
        self.forget(owner)
        owned: set[tuple[Hashable, str]] = set()
        for profile, path, token in entries:
            watched = self._profiles.get(profile.key)
            if watched is None:
                watched = self._profiles[profile.key] = _Profile(profile)
            watched.profile = profile  # the newest backend (credentials may have been rotated)
            entry = watched.paths.get(path)
            if entry is None:
                entry = watched.paths[path] = _Path(checked=now)
            entry.add(owner, token, now, interval)
            if watched.earliest is not None:
                watched.earliest = min(watched.earliest, entry.due_at())
            owned.add((profile.key, path))
        if owned:
            self._owned[owner] = owned
        return {key for key, _ in owned}

    def forget(self, owner: str) -> None:
        for key, path in self._owned.pop(owner, ()):
            watched = self._profiles.get(key)
            if watched is None or path not in watched.paths:
                continue
            watched.paths[path].remove(owner)  # the profile's earliest stays a bound: never later
            if not watched.paths[path].owners:
                del watched.paths[path]
            if not watched.paths:
                del self._profiles[key]

    def profiles_of(self, owner: str) -> set[Hashable]:
        return {key for key, _ in self._owned.get(owner, ())}

    def profile(self, key: Hashable) -> Watchable | None:
        watched = self._profiles.get(key)
        return watched.profile if watched else None

    def owners_of(self, key: Hashable) -> set[str]:
        watched = self._profiles.get(key)
        if watched is None:
            return set()
        return {owner for path in watched.paths.values() for owner in path.owners}

    def next_poll(self, key: Hashable) -> float | None:
        """When the earliest path of the profile is due (None: it watches nothing)."""
        watched = self._profiles.get(key)
        if watched is None or not watched.paths:
            return None
        if watched.earliest is None:
            watched.earliest = min(path.due_at() for path in watched.paths.values())
        return watched.earliest

    def due(self, key: Hashable, now: float, *, whole: bool = False) -> tuple[Watchable, list[str]] | None:
        """The profile and its paths to list now (None: nothing watched).

        ``whole``: the backend lists its whole store in one call anyway, so every path is listed
        once any is due; their checks then stay aligned (one listing per interval).
        """
        watched = self._profiles.get(key)
        if watched is None:
            return None
        watched.earliest = None  # the listing moves the checked times: exact again after it
        due = [
            name for name, path in watched.paths.items() if path.checked + path.shortest * (1 - SLACK) <= now
        ]
        if due and whole:
            due = list(watched.paths)
        return watched.profile, sorted(due)

    def observe(
        self, key: Hashable, paths: Iterable[str], tokens: Mapping[str, str], started: float
    ) -> set[str]:
        """Records a listing of ``paths`` begun at ``started``; returns the owners that must sync.

        An owner that registered after the listing began has seen newer content than it. An
        owner that knew no token takes the listed one (its sync read no version id).
        """
        watched = self._profiles.get(key)
        if watched is None:
            return set()
        moved: set[str] = set()
        for name in paths:
            path = watched.paths.get(name)
            if path is None:
                continue
            path.checked = started
            watched.earliest = None
            listed = tokens.get(name)
            for owner, (token, since, interval) in list(path.owners.items()):
                if since > started:
                    continue
                if token is None and listed is not None:
                    path.owners[owner] = (listed, since, interval)
                elif token != listed:
                    moved.add(owner)
        return moved
