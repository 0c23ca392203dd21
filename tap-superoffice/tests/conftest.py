"""Fixtures: the SuperOffice emulator in-process on a loopback port, and tap configs for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox.testing import RunningSandbox, running_sandbox

CONTEXT = "Cust12345"


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def system_user_config(so: RunningSandbox, private_key_pem: str) -> dict[str, Any]:
    """A system-user config for the emulator: every secret is the sandbox token."""
    return {
        "auth_mode": "system_user",
        "login_url": so.url,
        "context_identifier": CONTEXT,
        "client_secret": so.token,
        "system_user_token": so.token,
        "private_key": private_key_pem,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "start_date": "2000-01-01T00:00:00Z",
    }


@pytest.fixture
def tenant() -> Iterator[RunningSandbox]:
    """A small seeded tenant of its own for each test."""
    with running_sandbox("superoffice", seed=3, seed_value=5) as so:
        yield so


@pytest.fixture
def config(tenant: RunningSandbox, private_key_pem: str) -> dict[str, Any]:
    """A system-user tap config for the test's tenant."""
    return system_user_config(tenant, private_key_pem)
