"""Fixtures for tap-customcrm: a seeded Customcrm sandbox on loopback and a tap runner."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import pytest
from customcrm_client import ClientSettings, CustomcrmClient
from sandbox.testing import RunningSandbox, running_sandbox
from tap_customcrm.tap import TapCustomcrm

SEED = 6
SEED_VALUE = 7


@dataclass
class TapOutput:
    """What one tap run wrote: records per stream, schemas, and the final state."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def ids(self, stream: str) -> list[str]:
        return [record["id"] for record in self.records[stream]]


def parse_messages(lines: str) -> TapOutput:
    output = TapOutput()
    for line in lines.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            output.records[message["stream"]].append(message["record"])
            if not output.order or output.order[-1] != message["stream"]:
                output.order.append(message["stream"])
        elif message["type"] == "SCHEMA":
            output.schemas[message["stream"]] = message
        elif message["type"] == "STATE":
            output.state = message["value"]
    return output


def _run_tap(config: dict[str, Any], state: dict[str, Any] | None = None) -> TapOutput:
    """Run the tap in-process, as `tap-customcrm --config --state` would."""
    buffer = io.StringIO()
    tap = TapCustomcrm(config=config, state=state, parse_env_config=False)
    with redirect_stdout(buffer):
        tap.sync_all()
    return parse_messages(buffer.getvalue())


RunTap = Callable[..., TapOutput]


@pytest.fixture
def run_tap() -> RunTap:
    return _run_tap


@pytest.fixture(scope="module")
def crm() -> Iterator[RunningSandbox]:
    """A small seeded Customcrm, one per test module (tests that write reset it)."""
    with running_sandbox("customcrm", seed=SEED, seed_value=SEED_VALUE) as sandbox:
        yield sandbox


@pytest.fixture
def fresh_crm(crm: RunningSandbox) -> RunningSandbox:
    """The module's sandbox, re-seeded and with counters and faults cleared."""
    crm.reset(seed=SEED, seed_value=SEED_VALUE)
    crm.clear_faults()
    crm.clear_requests()
    return crm


@pytest.fixture
def crm_client(crm: RunningSandbox) -> CustomcrmClient:
    """A client for making changes between tap runs."""
    return CustomcrmClient(ClientSettings.from_config({"api_url": crm.url, "api_token": crm.token}))


@pytest.fixture
def tap_config(crm: RunningSandbox) -> dict[str, Any]:
    return {"api_url": crm.url, "api_token": crm.token, "page_size": 7, "backoff_base": 0.01}
