"""The pytest fixtures the sandbox package registers for every package's tests."""

from __future__ import annotations

import requests
from sandbox.testing import RunningSandbox


def test_customcrm_fixture_serves_an_empty_store_that_can_be_seeded(
    customcrm_sandbox: RunningSandbox,
) -> None:
    url = f"{customcrm_sandbox.url}/api/v1/customers"
    headers = {"Authorization": f"Bearer {customcrm_sandbox.token}"}
    assert requests.get(url, headers=headers, timeout=5).json() == {
        "items": [],
        "next_cursor": None,
    }
    customcrm_sandbox.reset(seed=3, seed_value=1)
    assert len(requests.get(url, headers=headers, timeout=5).json()["items"]) == 3
    assert customcrm_sandbox.requests()["by_route"] == {"GET /api/v1/customers": 2}
