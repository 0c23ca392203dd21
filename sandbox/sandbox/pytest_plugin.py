"""Pytest fixtures of the sandboxes, registered through the `pytest11` entry point.

Loading it as a plugin also imports the real `sandbox` package before collection, so
`--import-mode=importlib` does not shadow it with the `sandbox/` project folder when it
imports `sandbox/tests/test_*.py` as `sandbox.tests.test_*`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import RunningSandbox, running_sandbox

__all__ = ["customcrm_sandbox", "superoffice_sandbox"]


@pytest.fixture
def customcrm_sandbox() -> Iterator[RunningSandbox]:
    """An empty Customcrm emulator on an ephemeral port (call `.reset(seed=...)` to seed)."""
    with running_sandbox("customcrm") as sandbox:
        yield sandbox


@pytest.fixture
def superoffice_sandbox() -> Iterator[RunningSandbox]:
    """An empty SuperOffice emulator on an ephemeral port (call `.reset(seed=...)` to seed)."""
    with running_sandbox("superoffice") as sandbox:
        yield sandbox
