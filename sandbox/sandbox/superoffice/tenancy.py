"""Where the tenant lives: its context id, its current endpoint prefix and its state.

SuperOffice moves tenant endpoints "routinely to balance the load" and answers 421 on the
wrong one; clients find the current one through `GET /api/state/{ctx}`. Here the movable parts
are a path prefix (with prefix `sod2` the API root is `/sod2/Cust12345/api/v1/`, with an empty
prefix `/Cust12345/api/v1/`) and the host name on the sandbox's own port (`127.0.0.1` or
`localhost`). Moving them while running (PUT /_superoffice/settings) exercises a client's
re-discovery.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import MisdirectedRequestError, NotFoundError, TenantUnavailableError

__all__ = ["STATES", "Tenancy"]

# TenantState values from the tenant-status page.
STATES = {
    "Unknown": 0,
    "Provisioning": 1,
    "Running": 2,
    "Deleted": 3,
    "Suspended": 4,
    "OnlineMaintenance": 5,
    "OfflineMaintenance": 6,
}


class Tenancy:
    """The tenant's context id, endpoint prefix and state; thread-safe."""

    def __init__(self, context: str, prefix: str = "") -> None:
        self.context = context
        self._prefix = prefix.strip("/")
        self._host: str | None = None
        self._state = "Running"
        self._lock = threading.Lock()

    @property
    def host(self) -> str | None:
        """The host name the tenant answers on; None: whichever host the request used."""
        with self._lock:
            return self._host

    @property
    def prefix(self) -> str:
        with self._lock:
            return self._prefix

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def move(
        self, prefix: str | None = None, state: str | None = None, host: str | None = None
    ) -> None:
        """Change the endpoint (path prefix and/or host name; "" clears the host) or state."""
        with self._lock:
            if prefix is not None:
                self._prefix = prefix.strip("/")
            if host is not None:
                self._host = host.strip().lower() or None
            if state is not None:
                if state not in STATES:
                    raise ValueError(f"state must be one of {', '.join(STATES)}")
                self._state = state

    def endpoint_path(self) -> str:
        """`sod2/Cust12345` or `Cust12345`: what precedes `/api/v1/` on the current endpoint."""
        prefix = self.prefix
        return f"{prefix}/{self.context}" if prefix else self.context

    def check(self, endpoint: str, host: str) -> None:
        """421 through a stale endpoint or host, 404 for another tenant, 503 while not Running."""
        segments = endpoint.strip("/").split("/")
        if segments[-1].lower() != self.context.lower():
            raise NotFoundError(f"Tenant '{segments[-1][:40]}' not found")
        if endpoint.strip("/").lower() != self.endpoint_path().lower():
            raise MisdirectedRequestError()
        wanted = self.host
        if wanted is not None and host.split(":")[0].lower() != wanted:
            raise MisdirectedRequestError()
        state = self.state
        if state != "Running":
            raise TenantUnavailableError(self.context, state)

    def status(self, context: str, host_url: str) -> dict[str, Any]:
        """The body of `GET /api/state/{ctx}`."""
        known = context.lower() == self.context.lower()
        state = self.state if known else "Unknown"
        root = host_url.rstrip("/")
        wanted = self.host
        if wanted is not None:
            scheme, _, rest = root.partition("://")
            port = rest.partition(":")[2]
            root = f"{scheme}://{wanted}" + (f":{port}" if port else "")
        endpoint = f"{root}/{self.endpoint_path()}" if known else None
        valid_until = datetime.now(UTC) + timedelta(hours=1)
        return {
            "ContextIdentifier": self.context if known else context,
            "Endpoint": endpoint,
            "State": state,
            "IsRunning": state == "Running",
            "ValidUntil": valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Api": f"{endpoint}/api" if endpoint else None,
        }
