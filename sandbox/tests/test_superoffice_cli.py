"""`crm-sandbox superoffice` starts the emulator as documented in the sync contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests


def test_the_cli_serves_a_seeded_tenant_and_prints_where_it_listens(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "sandbox.cli",
        "superoffice",
        "--port",
        "0",
        "--data",
        str(tmp_path),
        "--seed",
        "6",
        "--token",
        "cli-secret",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        state = requests.get(f"{url}/api/state/Cust12345", timeout=30).json()
        rows = requests.get(
            f"{state['Endpoint']}/api/v1/Contact",
            headers={"Authorization": "Bearer cli-secret"},
            timeout=30,
        ).json()["value"]
        assert len(rows) == 6
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    assert "cli-secret" not in errors
    assert (tmp_path / "superoffice.sqlite3").exists()
