"""The two sandboxes as separate processes, and the plugins and Meltano run against them.

Sandboxes run as `crm-sandbox` subprocesses (not in the benchmark's own process), so the
loaders measured here never share a GIL with the server they load into. Counters, faults and
resets go through the control API (`/_sandbox/...`), which is never counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

__all__ = ["BIN", "ROOT", "TENANT", "TOKEN", "Plugins", "Sandbox", "TwoCrms", "two_crms"]

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TENANT = "Cust12345"
TOKEN = "sandbox-token"  # noqa: S105 - the documented token of the local emulators
SEED_VALUE = 7
CORRELATION_FIELD = "SuperOffice:1"
"""As in meltano.yml's `sandbox` environment: the key travels inside the create."""
MELTANO_DIR = ROOT / "var" / "bench" / ".meltano"
"""The benchmark's own Meltano folder (plugins, catalogs): `meltano run`s of tests in the
same checkout rewrite the shared `.meltano/run/<plugin>/` catalog files while they run."""


@dataclass
class Sandbox:
    """One running `crm-sandbox` process: its URL, an API session and the control calls."""

    name: str
    url: str
    process: subprocess.Popen[str]
    session: requests.Session = field(default_factory=requests.Session)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(
            method, f"{self.url}/_sandbox/{path}", json=body, timeout=600
        )
        response.raise_for_status()
        return response.json()

    def reset(self, companies: int) -> None:
        """Wipe, then seed `companies` companies of the shared world (0: empty)."""
        self.control("POST", "reset", {"seed": companies, "seed_value": SEED_VALUE})

    def counters(self) -> dict[str, Any]:
        counted: dict[str, Any] = self.control("GET", "requests")
        return counted

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def set_latency(self, latency_ms: int) -> None:
        self.control("PUT", "faults", {"latency_ms": latency_ms})

    @property
    def api(self) -> str:
        """Base URL of the REST resources."""
        if self.name == "customcrm":
            return f"{self.url}/api/v1"
        return f"{self.url}/{TENANT}/api/v1"

    @property
    def auth(self) -> dict[str, Any]:
        """Keyword arguments that authenticate a `requests` call to this API."""
        if self.name == "customcrm":
            return {"headers": {"Authorization": f"Bearer {TOKEN}"}}
        headers = {"SO-AppToken": TOKEN, "Accept": "application/json"}
        return {"headers": headers, "auth": ("sandbox", TOKEN)}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One counted API request, as a user or a loader makes it; errors raise."""
        auth = self.auth
        headers = {**auth.pop("headers"), **kwargs.pop("headers", {})}
        response = self.session.request(
            method, f"{self.api}/{path}", headers=headers, timeout=120, **auth, **kwargs
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response


def _start(stack: ExitStack, name: str, data: Path, companies: int) -> Sandbox:
    command = [str(BIN / "crm-sandbox"), name, "--port", "0", "--data", str(data)]
    command += ["--seed", str(companies), "--seed-value", str(SEED_VALUE), "--reset"]
    log = (data.parent / f"{name}-sandbox.log").open("w")
    stack.callback(log.close)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    stack.callback(_stop, process)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("listening on "):
        raise RuntimeError(f"the {name} sandbox did not start: {first!r}")
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return Sandbox(name, first.removeprefix("listening on "), process)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Plugins:
    """Configs of the four plugins and the two mappers against these sandboxes."""

    customcrm: Sandbox
    superoffice: Sandbox
    workdir: Path
    max_concurrency: int | None = None
    """The targets' `max_concurrency` (None: their default)."""

    @property
    def crosswalk_url(self) -> str:
        return f"sqlite:///{self.workdir}/crosswalk.db"

    def _superoffice(self) -> dict[str, Any]:
        url = self.superoffice.url
        return {
            "auth_mode": "basic",
            "username": "sandbox",
            "password": TOKEN,
            "client_secret": TOKEN,
            "login_url": url,
            "context_identifier": TENANT,
            "api_url": f"{url}/{TENANT}",
        }

    def config(self, plugin: str) -> Path:
        """Write the JSON config of `plugin` (tap-/target-/map-...) and return its path."""
        start = {"start_date": "2000-01-01T00:00:00Z"}
        customcrm = {"api_url": self.customcrm.url, "api_token": TOKEN}
        crosswalk = {"crosswalk_url": self.crosswalk_url}
        settings: dict[str, Any] = {
            "tap-customcrm": {**customcrm, **start},
            "tap-superoffice": {**self._superoffice(), **start},
            "target-customcrm": {**customcrm, **crosswalk, "source_system": "superoffice"},
            "target-superoffice": {
                **self._superoffice(),
                **crosswalk,
                "source_system": "customcrm",
                "correlation_field": CORRELATION_FIELD,
            },
        }.get(plugin) or _mapping(plugin)
        if plugin.startswith("target-") and self.max_concurrency is not None:
            settings["max_concurrency"] = self.max_concurrency
        path = self.workdir / f"{plugin}.json"
        path.write_text(json.dumps(settings))
        return path

    def meltano_env(self) -> dict[str, str]:
        """The environment `meltano run` needs to talk to these sandboxes, fresh state."""
        cc, so = self.customcrm.url, self.superoffice.url
        settings = {
            "MELTANO_ENVIRONMENT": "sandbox",
            "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_SYS_DIR_ROOT": str(MELTANO_DIR),
            "TAP_CUSTOMCRM_API_URL": cc,
            "TARGET_CUSTOMCRM_API_URL": cc,
            "TAP_SUPEROFFICE_LOGIN_URL": so,
            "TAP_SUPEROFFICE_API_URL": f"{so}/{TENANT}",
            "TARGET_SUPEROFFICE_LOGIN_URL": so,
            "TARGET_SUPEROFFICE_API_URL": f"{so}/{TENANT}",
            "TARGET_SUPEROFFICE_CROSSWALK_URL": self.crosswalk_url,
            "TARGET_CUSTOMCRM_CROSSWALK_URL": self.crosswalk_url,
        }
        return {**os.environ, **settings}

    def install(self) -> None:
        """`meltano install` (fast when the plugins are already installed)."""
        subprocess.run(
            [str(BIN / "meltano"), "install"], cwd=ROOT, env=self.meltano_env(),
            check=True, capture_output=True, timeout=1800,
        )  # fmt: skip

    def meltano(self, *blocks: str) -> float:
        """`meltano run <blocks>` once; return its wall time in seconds (failures raise)."""
        log = self.workdir / "meltano.log"
        started = time.perf_counter()
        with log.open("a") as out:
            result = subprocess.run(
                [str(BIN / "meltano"), "run", *blocks],
                cwd=ROOT, env=self.meltano_env(), stdout=out, stderr=subprocess.STDOUT,
                check=False, timeout=3600,
            )  # fmt: skip
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"meltano run {' '.join(blocks)} failed; see {log}")
        return seconds


def _mapping(plugin: str) -> dict[str, Any]:
    """The stream-map config of mapping `plugin` (e.g. map-superoffice-to-customcrm)."""
    name = plugin.removeprefix("map-")
    document = yaml.safe_load((ROOT / "mappings" / f"{name}.meltano.yml").read_text())
    for mapper in document["plugins"]["mappers"]:
        for mapping in mapper.get("mappings", []):
            if mapping["name"] == name:
                config: dict[str, Any] = mapping["config"]
                return config
    raise KeyError(f"no mapping {name!r} in mappings/")


@dataclass
class TwoCrms:
    """Both sandboxes and the plugin configs that point at them."""

    customcrm: Sandbox
    superoffice: Sandbox
    plugins: Plugins

    def sides(self) -> dict[str, Sandbox]:
        return {"customcrm": self.customcrm, "superoffice": self.superoffice}

    def clear_requests(self) -> None:
        for sandbox in self.sides().values():
            sandbox.clear_requests()

    def counters(self) -> dict[str, dict[str, Any]]:
        return {name: sandbox.counters() for name, sandbox in self.sides().items()}


@contextmanager
def two_crms(workdir: Path, companies: int) -> Iterator[TwoCrms]:
    """Both sandboxes seeded with `companies` companies of the same world, stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        customcrm = _start(stack, "customcrm", workdir / "customcrm", companies)
        superoffice = _start(stack, "superoffice", workdir / "superoffice", companies)
        yield TwoCrms(customcrm, superoffice, Plugins(customcrm, superoffice, workdir))
