"""The change tracker's next poll time: never later than the earliest due path, and cheap to keep.

Each sync re-registers its paths and asks when the profile's next listing is due. Computing that
over every path made an initial sync of N objects cost N² steps; the tracker keeps a bound that is
never later than the truth (so no change is ever seen late) and is exact again after each poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultsync.sync import changes
from vaultsync.sync.changes import ChangeTracker


@dataclass(frozen=True)
class _Profile:
    key: str = "ns/bao"
    backend: Any = None


PROFILE = _Profile()


def _exact(tracker: ChangeTracker) -> float | None:
    watched = tracker._profiles.get(PROFILE.key)
    if watched is None or not watched.paths:
        return None
    return min(p.checked + min(i for _, _, i in p.owners.values()) for p in watched.paths.values())


_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("remember"), st.integers(0, 5), st.integers(0, 3), st.sampled_from([10.0, 30.0, 60.0])
        ),
        st.tuples(st.just("forget"), st.integers(0, 5), st.just(0), st.just(0.0)),
        st.tuples(st.just("poll"), st.just(0), st.just(0), st.just(0.0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_operations)
def test_the_next_poll_is_never_later_than_the_earliest_due_path_and_exact_after_a_poll(
    operations: list[tuple[str, int, int, float]],
) -> None:
    tracker = ChangeTracker()
    now = 0.0
    for op, owner, path, interval in operations:
        now += 1.0
        if op == "remember":
            tracker.remember(f"o{owner}", [(PROFILE, f"p{path}", "t")], interval, now)
        elif op == "forget":
            tracker.forget(f"o{owner}")
        else:
            found = tracker.due(PROFILE.key, now)
            if found is not None:
                tracker.observe(PROFILE.key, found[1], {}, now)
            assert tracker.next_poll(PROFILE.key) == _exact(tracker)
        exact, bound = _exact(tracker), tracker.next_poll(PROFILE.key)
        assert (exact is None) == (bound is None)
        if exact is not None and bound is not None:
            assert bound <= exact


def test_registering_n_owners_costs_work_linear_in_n(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    due_at = changes._Path.due_at

    def counted(self: Any) -> float:
        nonlocal calls
        calls += 1
        return due_at(self)

    monkeypatch.setattr(changes._Path, "due_at", counted)
    tracker = ChangeTracker()
    for i in range(2000):
        tracker.remember(f"o{i}", [(PROFILE, f"p{i}", None)], 60.0, float(i))
        tracker.next_poll(PROFILE.key)  # what the scheduler asks after each sync
    assert calls <= 3 * 2000, f"{calls} due-time computations for 2,000 registrations"
    assert tracker.next_poll(PROFILE.key) == 60.0
