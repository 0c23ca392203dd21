"""`crm-sandbox customcrm` as an operator runs it: a real process on a free port."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sandbox.cli import main

TOKEN = "cli-token"


@contextmanager
def _sandbox_process(data: Path, *extra: str) -> Iterator[str]:
    command = [sys.executable, "-m", "sandbox.cli", "customcrm", "--port", "0"]
    command += ["--data", str(data), "--token", TOKEN, *extra]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline().strip()
            assert first_line.startswith("listening on http://127.0.0.1:")
            yield first_line.removeprefix("listening on ")
        finally:
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=10)
        assert process.returncode == 0
        assert TOKEN not in errors


def _customers(url: str) -> list[dict[str, object]]:
    answer = requests.get(
        f"{url}/api/v1/customers",
        headers={"Authorization": f"Bearer {TOKEN}"},
        params={"limit": 500},
        timeout=5,
    )
    answer.raise_for_status()
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_cli_seeds_a_new_data_dir_keeps_it_across_restarts_and_reseeds_on_reset(
    tmp_path: Path,
) -> None:
    with _sandbox_process(tmp_path, "--seed", "6", "--seed-value", "7") as url:
        assert len(_customers(url)) == 6
        requests.post(
            f"{url}/api/v1/customers",
            json={"name": "Kept AS"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        ).raise_for_status()
    with _sandbox_process(tmp_path, "--seed", "6") as url:
        assert [c["name"] for c in _customers(url)][-1] == "Kept AS"
    with _sandbox_process(tmp_path, "--seed", "6", "--reset") as url:
        names = [c["name"] for c in _customers(url)]
        assert (len(names), "Kept AS" in names) == (6, False)


def test_cli_refuses_an_unknown_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["hubspot"])
    assert exited.value.code == 2
    assert "invalid choice: 'hubspot'" in capsys.readouterr().err
