"""The SDK's standard tap tests, run against the SuperOffice emulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox.testing import running_sandbox
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_superoffice.tap import TapSuperOffice

# The SDK builds its test class at import time; the emulator's URL is filled in below, in place,
# by a class fixture that runs before the SDK's runner syncs.
CONFIG: dict[str, Any] = {
    "auth_mode": "system_user",
    "login_url": "http://127.0.0.1:9",
    "context_identifier": "Cust12345",
    "client_secret": "pending",
    "system_user_token": "pending",
    "private_key": rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode(),
    "start_date": "2000-01-01T00:00:00Z",
    "backoff_base": 0.01,
}

StandardTests = get_tap_test_class(
    TapSuperOffice, config=CONFIG, suite_config=SuiteConfig(max_records_limit=20)
)


class TestTapSuperOffice(StandardTests):  # type: ignore[misc,valid-type]
    """Discovery, connection, records, primary keys and schema conformance on a seeded tenant."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def superoffice(cls) -> Iterator[None]:
        with running_sandbox("superoffice", seed=6, seed_value=7) as so:
            CONFIG.update(login_url=so.url, client_secret=so.token, system_user_token=so.token)
            yield
