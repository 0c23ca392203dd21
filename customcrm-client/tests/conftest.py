"""The Customcrm sandbox the client's HTTP tests share: one server per module, reset to the
same small world before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def seeded() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=4, seed_value=7) as sandbox:
        yield sandbox


@pytest.fixture
def crm(seeded: RunningSandbox) -> RunningSandbox:
    seeded.reset(seed=4, seed_value=7)
    seeded.clear_faults()
    seeded.clear_requests()
    return seeded
