"""Where a tenant's Web API lives right now.

Online tenants move between numbered hosts ("sod2", "online3", ...) to balance load, and a call to
the wrong one answers 421 Misdirected Request (superoffice-api.md §1). `TenantLocator` asks the
tenant status endpoint `GET {login_url}/api/state/{ctx}` for the current `Endpoint`, falls back to
the configured `api_url` when that lookup fails, and looks again when told to (`rediscover()`).
On-premise installations configure only `api_url` and never look anything up.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from superoffice_client.auth import Sender
from superoffice_client.errors import SuperOfficeError

__all__ = ["TenantLocator"]

log = logging.getLogger(__name__)


class TenantLocator:
    """Finds and caches the base URL of a tenant's REST API (ending in `/api/v1/`)."""

    def __init__(
        self,
        *,
        session: Sender,
        api_url: str | None = None,
        login_url: str | None = None,
        context_identifier: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not api_url and not (login_url and context_identifier):
            raise ValueError(
                "configure api_url, or login_url and context_identifier to discover it"
            )
        self._session = session
        self._fallback = api_url
        self._login_url = login_url.rstrip("/") if login_url else None
        self._context = context_identifier
        self._timeout = timeout
        self._base: str | None = None
        self._lock = threading.Lock()
        self.lookups = 0
        """How many times the status endpoint was asked (tests count re-discovery with it)."""

    @staticmethod
    def _api_root(endpoint: str) -> str:
        """`https://sod2.superoffice.com/Cust1` -> `https://sod2.superoffice.com/Cust1/api/v1/`."""
        endpoint = endpoint.rstrip("/")
        if endpoint.endswith("/api/v1"):
            return endpoint + "/"
        if endpoint.endswith("/api"):
            return endpoint + "/v1/"
        return endpoint + "/api/v1/"

    def _discover(self) -> str | None:
        if not (self._login_url and self._context):
            return None
        self.lookups += 1
        url = f"{self._login_url}/api/state/{self._context}"
        try:
            response = self._session.get(url, timeout=self._timeout)
            state: Any = response.json() if response.ok else None
        except (requests.RequestException, SuperOfficeError, ValueError) as exc:
            log.warning(
                "Tenant status lookup failed (%s); using the configured api_url", type(exc).__name__
            )
            return None
        if not isinstance(state, dict) or not state.get("Endpoint"):
            log.warning(
                "Tenant status lookup answered %s; using the configured api_url",
                response.status_code,
            )
            return None
        if state.get("IsRunning") is False:
            log.warning(
                "Tenant %s reports state %s (not running)", self._context, state.get("State")
            )
        return str(state["Endpoint"])

    def base_url(self) -> str:
        """The current API root, discovering it on first use."""
        with self._lock:
            if self._base is None:
                found = self._discover() or self._fallback
                if not found:
                    raise ValueError(
                        f"tenant {self._context} could not be located and no api_url is configured"
                    )
                self._base = self._api_root(found)
            return self._base

    def rediscover(self) -> bool:
        """Look the endpoint up again after a 421; False when it cannot change (no discovery)."""
        if not (self._login_url and self._context):
            return False
        with self._lock:
            self._base = None
        return True
