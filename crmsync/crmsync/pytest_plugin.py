"""Pytest fixtures for crosswalks, registered through the `pytest11` entry point.

Loading it as a plugin also imports the real `crmsync` package before collection, so
`--import-mode=importlib` does not shadow it with the `crmsync/` project folder when it
imports `crmsync/tests/test_*.py` as `crmsync.tests.test_*`. Only pytest loads this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmsync.crosswalk import Crosswalk

__all__ = ["crmsync_sqlite_crosswalk"]


@pytest.fixture
def crmsync_sqlite_crosswalk(tmp_path: Path) -> Iterator[Crosswalk]:
    """A fresh, migrated SQLite crosswalk file in the test's temporary folder."""
    crosswalk = Crosswalk.connect(f"sqlite:///{tmp_path / 'crosswalk.db'}")
    yield crosswalk
    crosswalk.close()
