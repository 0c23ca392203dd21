"""Start an emulator in-process for tests of any package (importable without pytest).

    from sandbox.testing import running_sandbox

    with running_sandbox("customcrm", seed=20, seed_value=7) as crm:
        session.get(f"{crm.url}/api/v1/customers", headers={"Authorization": f"Bearer {crm.token}"})
        assert crm.requests()["writes"] == 0
        crm.set_faults(rate_429=0.5)
        rows = crm.records("customers")   # straight from the store, never counted

Control calls go over real HTTP to `/_sandbox/...` (never counted, never faulted).
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.common.app import SandboxApp
from sandbox.common.registry import create_emulator
from sandbox.common.server import RunningServer, serve

__all__ = ["DEFAULT_TOKEN", "RunningSandbox", "running_sandbox"]

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the documented token of a local emulator


@dataclass
class RunningSandbox:
    """A live emulator: its base URL, the token clients must send, and control helpers."""

    url: str
    token: str
    data_dir: Path
    app: SandboxApp
    server: RunningServer

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - always our own http://127.0.0.1 URL
            f"{self.url}/_sandbox/{path}", data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.load(response)

    def reset(self, seed: int = 0, seed_value: int = 0) -> None:
        """Wipe the store and seed `seed` companies of world `seed_value`."""
        self._control("POST", "reset", {"seed": seed, "seed_value": seed_value})

    def requests(self) -> dict[str, Any]:
        """`{"total", "writes", "peak_in_flight", "served_seconds", "by_route"}` since the
        last `clear_requests()`."""
        summary: dict[str, Any] = self._control("GET", "requests")
        return summary

    def clear_requests(self) -> None:
        self._control("DELETE", "requests")

    def set_faults(self, **settings: float) -> dict[str, Any]:
        """Change fault settings (rate_429, rate_5xx, rate_drop, rate_slow,
        rate_drop_after_write, rate_504_after_write, slow_seconds, latency_ms, retry_after,
        seed); returns all
        settings and the injected counts."""
        current: dict[str, Any] = self._control("PUT", "faults", dict(settings))
        return current

    def clear_faults(self) -> None:
        self.set_faults(
            rate_429=0, rate_5xx=0, rate_drop=0, rate_slow=0, rate_drop_after_write=0,
            rate_504_after_write=0, latency_ms=0,
        )  # fmt: skip

    def faults(self) -> dict[str, Any]:
        current: dict[str, Any] = self._control("GET", "faults")
        return current

    def records(self, collection: str) -> list[dict[str, Any]]:
        """Stored rows of `collection` (deleted included), read from the model directly."""
        return self.app.emulator.model.records(collection)


@contextmanager
def running_sandbox(
    name: str,
    *,
    seed: int = 0,
    seed_value: int = 0,
    token: str = DEFAULT_TOKEN,
    data_dir: Path | None = None,
) -> Iterator[RunningSandbox]:
    """Run emulator `name` on an ephemeral loopback port, seeded, in a temp data dir
    (or `data_dir`); stopped and closed on exit."""
    with tempfile.TemporaryDirectory(prefix=f"sandbox-{name}-") as scratch:
        directory = data_dir or Path(scratch)
        emulator = create_emulator(name, directory, token=token)
        emulator.model.reset(seed, seed_value)
        app = SandboxApp(emulator, seed=seed, seed_value=seed_value)
        server = serve(app)
        try:
            yield RunningSandbox(server.url, token, directory, app, server)
        finally:
            server.stop()
            emulator.model.close()
