"""Fixtures for target-customcrm: a seeded source sandbox, an empty destination, and the CLIs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sandbox.testing import RunningSandbox, running_sandbox
from tap_customcrm.tap import TapCustomcrm
from target_customcrm.target import TargetCustomcrm

BIN = Path(sys.executable).parent
SEED = 5
SEED_VALUE = 7
TOKEN = "rt-secret-7f3a9c"
"""A token distinctive enough to grep the plugins' logs for."""


@dataclass
class Pipe:
    """The result of `tap-customcrm | target-customcrm`: exit codes, the target's state, stderr."""

    tap_code: int
    target_code: int
    state: dict[str, Any]
    tap_stderr: str
    target_stderr: str


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def run_target_cli(
    target_config: Path, messages: str, work: Path
) -> subprocess.CompletedProcess[str]:
    """The real target CLI fed `messages` on stdin."""
    return subprocess.run(
        [str(BIN / "target-customcrm"), "--config", str(target_config)],
        input=messages,
        capture_output=True,
        text=True,
        cwd=work,
        timeout=120,
        check=False,
    )


def run_pipe(
    tap_config: Path, target_config: Path, state: dict[str, Any] | None, work: Path
) -> Pipe:
    """Run the two real CLIs with the tap's stdout piped into the target's stdin."""
    tap_args = [str(BIN / "tap-customcrm"), "--config", str(tap_config)]
    if state:
        tap_args += ["--state", str(write_json(work / "state.json", state))]
    with (work / "tap.err").open("w+") as tap_err:
        tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_err, cwd=work)
        target = subprocess.run(
            [str(BIN / "target-customcrm"), "--config", str(target_config)],
            stdin=tap.stdout,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=120,
            check=False,
        )
        assert tap.stdout is not None
        tap.stdout.close()
        tap_code = tap.wait(timeout=120)
        tap_err.seek(0)
        tap_stderr = tap_err.read()
    lines = [line for line in target.stdout.splitlines() if line.strip()]
    return Pipe(
        tap_code=tap_code,
        target_code=target.returncode,
        state=json.loads(lines[-1]) if lines else {},
        tap_stderr=tap_stderr,
        target_stderr=target.stderr,
    )


@dataclass
class Leg:
    """A source sandbox, a destination sandbox and the config files between them."""

    source: RunningSandbox
    destination: RunningSandbox
    work: Path
    tap_config: Path
    target_config: Path

    def run(self, state: dict[str, Any] | None = None) -> Pipe:
        return run_pipe(self.tap_config, self.target_config, state, self.work)

    def run_in_process(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """The same pipe without the CLIs' start-up cost: both plugins in this process."""
        tap_out, target_out = io.StringIO(), io.StringIO()
        tap = TapCustomcrm(config=json.loads(self.tap_config.read_text()), state=state)
        with redirect_stdout(tap_out):
            tap.sync_all()
        target = TargetCustomcrm(config=json.loads(self.target_config.read_text()))
        with redirect_stdout(target_out):
            target.listen(io.StringIO(tap_out.getvalue()))
        lines = [line for line in target_out.getvalue().splitlines() if line.strip()]
        return dict(json.loads(lines[-1])) if lines else {}

    def target_cli(self, config: dict[str, Any], messages: str) -> subprocess.CompletedProcess[str]:
        """Only the target's CLI, with this config and these stdin lines."""
        return run_target_cli(write_json(self.work / "cli.json", config), messages, self.work)


@pytest.fixture(scope="module")
def source() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=SEED, seed_value=SEED_VALUE, token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def destination() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=0, token=TOKEN) as sandbox:
        yield sandbox


def fresh_leg(source: RunningSandbox, destination: RunningSandbox, tmp_path: Path) -> Leg:
    """A fresh pair: source re-seeded, destination emptied, a new crosswalk."""
    source.reset(seed=SEED, seed_value=SEED_VALUE)
    destination.reset(seed=0)
    for sandbox in (source, destination):
        sandbox.clear_faults()
        sandbox.clear_requests()
    tap_config = write_json(
        tmp_path / "tap.json",
        {"api_url": source.url, "api_token": source.token, "page_size": 50},
    )
    target_config = write_json(
        tmp_path / "target.json",
        {
            "api_url": destination.url,
            "api_token": destination.token,
            "crosswalk_url": f"sqlite:///{tmp_path / 'crosswalk.db'}",
            "source_system": "customcrm_source",
            "backoff_base": 0.01,
        },
    )
    return Leg(source, destination, tmp_path, tap_config, target_config)


@pytest.fixture
def leg(source: RunningSandbox, destination: RunningSandbox, tmp_path: Path) -> Leg:
    return fresh_leg(source, destination, tmp_path)


@dataclass
class Copied:
    """A leg after its first `tap | target` run."""

    leg: Leg
    first: Pipe


@pytest.fixture(scope="module")
def copied(
    source: RunningSandbox, destination: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Copied:
    """One first run per module: the CLIs start slowly, so the round-trip tests share it."""
    leg = fresh_leg(source, destination, tmp_path_factory.mktemp("roundtrip"))
    return Copied(leg, leg.run())


TargetConfig = Callable[..., dict[str, Any]]
