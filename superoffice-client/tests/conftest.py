"""Fixtures: the SuperOffice emulator in-process on a loopback port, and client configs for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
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


@pytest.fixture
def superoffice() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice", seed=2, seed_value=3) as so:
        yield so


def _emulator_settings(so: RunningSandbox, **changes: Any) -> dict[str, Any]:
    """Change the emulator's tenant settings (endpoint prefix, ticket idle time)."""
    response = requests.put(f"{so.url}/_superoffice/settings", json=changes, timeout=10)
    response.raise_for_status()
    settings: dict[str, Any] = response.json()
    return settings


def _config_for(so: RunningSandbox, mode: str, private_key_pem: str = "") -> dict[str, Any]:
    """A connection config for the emulator in `mode` (every secret is the sandbox token)."""
    common = {"backoff_base": 0.001, "backoff_max": 0.01, "max_retries": 5}
    if mode == "system_user":
        return {
            **common,
            "auth_mode": "system_user",
            "login_url": so.url,
            "context_identifier": CONTEXT,
            "client_secret": so.token,
            "system_user_token": so.token,
            "private_key": private_key_pem,
        }
    if mode == "oauth":
        return {
            **common,
            "auth_mode": "oauth",
            "login_url": so.url,
            "context_identifier": CONTEXT,
            "client_id": "sandbox-client",
            "client_secret": so.token,
            "refresh_token": so.token,
        }
    return {
        **common,
        "auth_mode": "basic",
        "api_url": f"{so.url}/{CONTEXT}",
        "username": "integration",
        "password": so.token,
    }


@pytest.fixture
def config_for() -> Callable[..., dict[str, Any]]:
    """`config_for(sandbox, mode, private_key_pem)`: a connection config for the emulator."""
    return _config_for


@pytest.fixture
def emulator_settings() -> Callable[..., dict[str, Any]]:
    """`emulator_settings(sandbox, endpoint_prefix=..., ticket_idle_seconds=...)`."""
    return _emulator_settings
