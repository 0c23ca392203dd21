"""Two two-way runs started at once on one crosswalk (SQLite file, then PostgreSQL) create no
duplicate: the crosswalk's unique constraints and intent claims let only one run create each
record; the other defers it and links it on a later run.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
LEGS = ("customcrm->superoffice", "superoffice->customcrm")


def both_at_once(first: Any, second: Any) -> list[Any]:
    """Run `first.sync()` and `second.sync()` in parallel threads; return their leg runs."""
    errors: list[BaseException] = []

    def two_way(crms: Any) -> None:
        try:
            for leg in LEGS:
                crms.run_leg(leg)
        except BaseException as error:  # reported by the test, not lost in the thread
            print(f"--- {crms.work.name} failed:\n{error}")  # whole, unlike the assert's repr
            errors.append(error)

    threads = [threading.Thread(target=two_way, args=(crms,)) for crms in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert errors == []
    return first.runs + second.runs


def check_no_duplicates_then_converge(first: Any, second: Any) -> None:
    runs = both_at_once(first, second)
    for run in runs:
        if run.target_code != 0:
            print(f"--- target of {run.leg} exited {run.target_code}:\n{run.stderr[-6000:]}")
    assert [run.target_code for run in runs] == [0, 0, 0, 0]
    assert first.duplicates() == {}
    assert first.dangling_links() == []
    first.sync()  # what one run deferred for the other is linked now
    first.sync()
    assert first.duplicates() == {}
    keys = first.natural_keys()
    for entity in ("company", "person", "product"):
        assert keys[f"customcrm {entity}"] == keys[f"superoffice {entity}"], entity
    assert first.quote_counts()[0] == first.quote_counts()[1]
    assert first.quarantine() == []


def test_two_runs_at_once_on_one_sqlite_crosswalk_create_no_duplicates(
    fresh: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = fresh(seed=4)
    second = replace(first, work=tmp_path_factory.mktemp("second-run"), states={}, runs=[])
    check_no_duplicates_then_converge(first, second)


@pytest.mark.postgres
def test_two_runs_at_once_on_one_postgresql_crosswalk_create_no_duplicates(
    fresh: Any, tmp_path_factory: pytest.TempPathFactory, crmsync_postgres_url: str
) -> None:
    first = replace(fresh(seed=4), crosswalk_url=crmsync_postgres_url)
    second = replace(first, work=tmp_path_factory.mktemp("second-run"), states={}, runs=[])
    check_no_duplicates_then_converge(first, second)
