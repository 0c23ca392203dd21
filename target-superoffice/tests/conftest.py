"""Fixtures: SuperOffice emulators in-process on loopback ports, and plugin configs for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def source_tenant() -> Iterator[RunningSandbox]:
    """A seeded tenant to read from."""
    with running_sandbox("superoffice", seed=3, seed_value=7) as so:
        yield so


@pytest.fixture
def empty_tenant() -> Iterator[RunningSandbox]:
    """An empty tenant to write into."""
    with running_sandbox("superoffice", seed=0) as so:
        yield so


@pytest.fixture
def plugin_config(private_key_pem: str, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """`plugin_config(sandbox, **extra)`: a system-user config for the emulator; targets get a
    crosswalk in the test's temp dir."""

    def build(so: RunningSandbox, **extra: Any) -> dict[str, Any]:
        return {
            "auth_mode": "system_user",
            "login_url": so.url,
            "context_identifier": "Cust12345",
            "client_secret": so.token,
            "system_user_token": so.token,
            "private_key": private_key_pem,
            "start_date": "2000-01-01T00:00:00Z",
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "crosswalk_url": f"sqlite:///{tmp_path}/crosswalk.db",
            **extra,
        }

    return build
