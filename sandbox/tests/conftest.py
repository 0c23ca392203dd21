"""The Customcrm sandbox the HTTP test modules share: one server per module, reset to the
same small world before each test (modules testing SuperOffice define their own `api`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def crm() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=3, seed_value=1) as sandbox:
        yield sandbox


@pytest.fixture
def api(crm: RunningSandbox) -> Iterator[requests.Session]:
    """A signed-in session on a freshly reset sandbox (no faults, no recorded requests)."""
    crm.reset(seed=3, seed_value=1)
    crm.clear_faults()
    crm.clear_requests()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {crm.token}"
    yield session
    session.close()
