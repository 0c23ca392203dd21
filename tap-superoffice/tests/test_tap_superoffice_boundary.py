"""`Boundary`: which archive versions a run may skip because an earlier run read them
(pure, no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

from tap_superoffice.boundary import BOUNDARY_STATE, Boundary


def test_a_version_read_before_is_skipped_and_a_new_edit_in_the_same_second_is_not() -> None:
    boundary = Boundary()
    boundary.add(7, "2026-01-02T03:04:05.100000Z")
    saved = Boundary.from_state({BOUNDARY_STATE: boundary.as_state()})

    assert saved.read_before(7, "2026-01-02T03:04:05.100000Z")
    assert not saved.read_before(7, "2026-01-02T03:04:05.900000Z")  # edited again
    assert not saved.read_before(8, "2026-01-02T03:04:05.100000Z")


def test_whole_second_times_are_never_skipped() -> None:
    boundary = Boundary()
    boundary.add(7, "2026-01-02T03:04:05")
    boundary.add(8, "2026-01-02T03:04:05.000000Z")

    assert not boundary.read_before(7, "2026-01-02T03:04:05")
    assert not boundary.read_before(8, "2026-01-02T03:04:05.000000Z")
    assert boundary.as_state() == {"versions": []}


def test_keep_from_forgets_seconds_the_next_run_does_not_list() -> None:
    boundary = Boundary()
    boundary.add(1, "2026-01-02T03:04:05.5Z")
    boundary.add(2, "2026-01-02T03:04:06.25Z")
    boundary.add(3, "2026-01-02T03:04:07.75Z")

    boundary.keep_from(datetime(2026, 1, 2, 3, 4, 6, 900_000, tzinfo=UTC))

    assert boundary.as_state() == {
        "versions": [[2, "2026-01-02T03:04:06.25Z"], [3, "2026-01-02T03:04:07.75Z"]]
    }


def test_a_state_without_versions_skips_nothing() -> None:
    assert Boundary.from_state({}).by_second == {}
    assert Boundary.from_state({BOUNDARY_STATE: "garbage"}).by_second == {}
