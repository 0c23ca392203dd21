"""Fixtures: SuperOffice emulators in-process on loopback ports, plugin configs for them, and a
customcrm -> superoffice `Leg` (crmsync and the destination, without the Singer CLI)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox.testing import RunningSandbox, running_sandbox
from superoffice_client import connect
from target_superoffice.destination import SuperOfficeDestination
from target_superoffice.specs import ENTITY_SPECS

from crmsync import Crosswalk, Incoming, Synchronizer, SyncSettings


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


class Leg:
    """One customcrm → superoffice leg on a crosswalk in a temp dir."""

    def __init__(self, config: dict[str, Any], crosswalk_url: str) -> None:
        self.destination = SuperOfficeDestination(connect(config))
        self.crosswalk = Crosswalk.connect(crosswalk_url)
        self.settings = SyncSettings(crosswalk_url=crosswalk_url, source_system="customcrm")

    def run(self, batches: list[tuple[str, list[Incoming]]]) -> dict[str, list[str]]:
        sync = Synchronizer(
            self.crosswalk,
            self.destination,
            settings=self.settings,
            specs=list(ENTITY_SPECS.values()),
            leg="customcrm->superoffice",
        )
        results: dict[str, list[str]] = {}
        for entity, records in batches:
            for outcome in sync.receive(entity, records):
                results.setdefault(entity, []).append(outcome.result)
        sync.finish()
        return results

    def link(self, entity: str, source_id: str) -> str:
        """The SuperOffice id linked to a Customcrm id."""
        found = self.crosswalk.find(entity, "customcrm", source_id)
        member = found.side("superoffice") if found else None
        assert member is not None
        return member.record_id


@pytest.fixture
def leg(
    empty_tenant: RunningSandbox, plugin_config: Callable[..., dict[str, Any]], tmp_path: Path
) -> Iterator[Leg]:
    """A leg into the empty tenant, on a crosswalk in the test's temp dir."""
    created = Leg(plugin_config(empty_tenant), f"sqlite:///{tmp_path}/leg.db")
    yield created
    created.crosswalk.close()
