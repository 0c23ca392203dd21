"""The SDK's standard tap tests, run against a seeded sandbox over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox.testing import running_sandbox
from singer_sdk.testing import get_tap_test_class
from tap_customcrm.tap import TapCustomcrm

# The runner keeps this very dict; the fixture below points it at the sandbox before any sync.
CONFIG: dict[str, Any] = {"api_url": "http://127.0.0.1:9", "api_token": "unset", "page_size": 5}

StandardTests = get_tap_test_class(TapCustomcrm, config=CONFIG, parse_env_config=False)


class TestTapCustomcrmStandard(StandardTests):  # type: ignore[misc,valid-type]
    """Standard SDK suite: discovery, records, primary keys, schema conformance, state."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def seeded_sandbox(cls) -> Iterator[None]:
        with running_sandbox("customcrm", seed=4, seed_value=3) as crm:
            CONFIG.update(api_url=crm.url, api_token=crm.token)
            yield
