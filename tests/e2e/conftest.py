"""Both sandboxes, the real `meltano run two-way-sync`, and handles to check the two CRMs.

The sandboxes run in this process on ephemeral loopback ports; Meltano and the plugins run as
subprocesses against them, with the plugins installed by `meltano install` once per session.
Each module gets fresh sandboxes, a fresh Meltano system database (state) and a fresh crosswalk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox, running_sandbox

from crmsync import Crosswalk

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(ROOT / ".venv" / "bin" / "meltano")
TENANT = "Cust12345"


@pytest.fixture(scope="session")
def meltano_plugins() -> None:
    """Install the project's plugins (uv-backed; fast when already installed)."""
    subprocess.run([MELTANO, "install"], cwd=ROOT, check=True, capture_output=True, timeout=900)


def project_copy(workdir: Path) -> Path:
    """The Meltano project seen from `workdir`: shared plugin venvs, its own `.meltano/run`.

    Meltano writes each plugin's generated config under `.meltano/run/<plugin>/`; two runs in
    one project directory (a benchmark, a concurrent test) would overwrite each other's.
    """
    project = workdir / "project"
    (project / ".meltano").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "meltano.yml", project)  # Meltano refuses a symlinked meltano.yml
    shutil.copytree(ROOT / "mappings", project / "mappings")
    for kind in ("extractors", "loaders", "mappers"):
        (project / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return project


@dataclass
class TwoCrms:
    """The two sandboxes as the sync sees them, plus the crosswalk it keeps."""

    customcrm: RunningSandbox
    superoffice: RunningSandbox
    workdir: Path
    project: Path
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    @property
    def crosswalk_url(self) -> str:
        return f"sqlite:///{self.workdir}/crosswalk.db"

    def env(self, **extra: str) -> dict[str, str]:
        so_url = self.superoffice.url
        settings = {
            "MELTANO_ENVIRONMENT": "sandbox",
            "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_CUSTOMCRM_API_URL": self.customcrm.url,
            "TARGET_CUSTOMCRM_API_URL": self.customcrm.url,
            "TAP_SUPEROFFICE_LOGIN_URL": so_url,
            "TAP_SUPEROFFICE_API_URL": f"{so_url}/{TENANT}",
            "TARGET_SUPEROFFICE_LOGIN_URL": so_url,
            "TARGET_SUPEROFFICE_API_URL": f"{so_url}/{TENANT}",
            "TARGET_SUPEROFFICE_CROSSWALK_URL": self.crosswalk_url,
            "TARGET_CUSTOMCRM_CROSSWALK_URL": self.crosswalk_url,
        }
        return {**os.environ, **settings, **extra}

    def sync(self, *, expect_success: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """`meltano run two-way-sync` once; its output is kept for the failure message."""
        result = subprocess.run(
            [MELTANO, "run", "--no-install", "two-way-sync"],
            cwd=self.project,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        self.runs.append(result)
        if expect_success:
            assert result.returncode == 0, result.stderr[-6000:]
        return result

    # -- the two APIs, as a user edits them ------------------------------------------------

    def cc(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.customcrm.token}", **kwargs.pop("headers", {})}
        response = requests.request(
            method, f"{self.customcrm.url}/api/v1/{path}", headers=headers, timeout=30, **kwargs
        )
        assert response.status_code < 400, response.text
        return response

    def cc_patch(self, path: str, changes: dict[str, Any]) -> dict[str, Any]:
        etag = self.cc("GET", path).headers["ETag"]
        patched: dict[str, Any] = self.cc(
            "PATCH", path, json=changes, headers={"If-Match": etag}
        ).json()
        return patched

    def so(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"SO-AppToken": self.superoffice.token, "Accept": "application/json"}
        response = requests.request(
            method,
            f"{self.superoffice.url}/{TENANT}/api/v1/{path}",
            headers={**headers, **kwargs.pop("headers", {})},
            auth=("sandbox", self.superoffice.token),
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 400, response.text
        return response

    def so_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.so(method, path, **kwargs).json()

    # -- what the sync knows ------------------------------------------------------------------

    def quarantine(self) -> list[dict[str, Any]]:
        """Everything the sync holds back (deferred, rejected, ambiguous, held deletes)."""
        listed = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "crmsync"), "quarantine", "list", "--json"],
            env={**os.environ, "CRMSYNC_CROSSWALK_URL": self.crosswalk_url},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        items: list[dict[str, Any]] = json.loads(listed.stdout)
        return items

    def linked(self, entity: str, system: str, record_id: object) -> str | None:
        """The id on the other side of the record linked to `record_id` on `system`."""
        other = "superoffice" if system == "customcrm" else "customcrm"
        crosswalk = Crosswalk.connect(self.crosswalk_url)
        try:
            return crosswalk.translate(entity, system, str(record_id), other)
        finally:
            crosswalk.close()


@pytest.fixture(scope="module")
def crms(meltano_plugins: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoCrms]:
    """Overlapping seeded sandboxes (same world), not yet synced."""
    workdir = tmp_path_factory.mktemp("two-way")
    with (
        running_sandbox("customcrm", seed=12, seed_value=7) as customcrm,
        running_sandbox("superoffice", seed=12, seed_value=7) as superoffice,
    ):
        yield TwoCrms(customcrm, superoffice, workdir, project_copy(workdir))
