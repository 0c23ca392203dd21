"""`SuperOfficeClient`: every HTTP call to a tenant goes through `request()`.

One `requests.Session` shared by all threads, the rate limiter around every send, and the
verdicts of errors.py acted on in one loop: 429/5xx and dropped connections are retried with
RetryPolicy's delays, a 401 renews the credential once, a 421 re-discovers the tenant once.
Whatever is left is raised as the matching `ApiError` / `UnavailableError`. `Transport` does
the sending and the retrying; the login host's calls (tickets, tenant status) share it.

A request that must not be carried out twice (a POST that creates: SuperOffice has no
idempotency key) is sent again only when it cannot have reached the server (no connection was
made) or the server itself answered with an error the policy retries (429, 500, 503: a
failed call, taken to have stored nothing). When its answer is lost after it was sent (read
timeout, dropped connection, or a gateway's 502/504 in its place) it raises `AnswerLostError`
instead: sending it again could create a second record, and only the caller can look for the
first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from superoffice_client.auth import SuperOfficeAuth
from superoffice_client.errors import (
    AnswerLostError,
    UnavailableError,
    Verdict,
    api_error,
    classify,
)
from superoffice_client.query import ArchiveQuery
from superoffice_client.retry import RateLimiter, RetryPolicy
from superoffice_client.tenant import TenantLocator

__all__ = ["SuperOfficeClient", "Transport", "new_session"]

log = logging.getLogger(__name__)

_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_GATEWAY_GAVE_UP = frozenset({502, 504})
"""Answers of a gateway in front of the server (bad gateway, gateway timeout): the request may
have reached the server and been carried out. 500 and 503 are the server's own refusals."""


def new_session(
    *, verify: bool | str = True, pool_size: int = 4, user_agent: str = ""
) -> requests.Session:
    """A session with a connection pool sized for `pool_size` threads; TLS verified by default."""
    session = requests.Session()
    session.verify = verify
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json", "SO-TimeZone": "UTC"})
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


class Transport:
    """Sends requests on the shared session under the rate limit, retrying 429/5xx answers and
    dropped connections with the retry policy's delays. Login and tenant-status calls use it
    too, so a throttled login host is waited out like the API."""

    def __init__(
        self,
        session: requests.Session,
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self.timeout = timeout
        self._sleep = sleep
        self.retries = 0
        """Requests re-sent after 429/5xx/connection failures (for run reports and tests)."""
        self._lock = threading.Lock()
        self._environments: dict[tuple[str, str], Mapping[str, Any]] = {}

    def _wait(self, attempt: int, response: requests.Response | None, why: str) -> None:
        if attempt > self.retry.max_retries:
            raise UnavailableError(f"SuperOffice unavailable after {attempt - 1} retries: {why}")
        delay = self.retry.delay(attempt, response)
        log.info("Retrying in %.2fs (%s), attempt %d", delay, why, attempt)
        with self._lock:
            self.retries += 1
        self._sleep(delay)

    def _once(self, method: str, url: str, kwargs: Mapping[str, Any]) -> requests.Response:
        """Prepare (auth may fetch a ticket, itself through this transport) before taking a
        slot of the limiter, so a ticket fetch never waits for a slot its caller holds."""
        request = requests.Request(method, url, **kwargs)
        prepared = self.session.prepare_request(request)
        with self.limiter.slot():
            return self.session.send(prepared, timeout=self.timeout, **self._environment(url))

    def _environment(self, url: str) -> Mapping[str, Any]:
        """The proxy and CA-bundle settings of the environment (`HTTPS_PROXY`, `NO_PROXY`,
        `REQUESTS_CA_BUNDLE`...) for `url`'s host, read once per host rather than per request."""
        parts = urlparse(url)
        origin = (parts.scheme, parts.netloc)
        environment = self._environments.get(origin)
        if environment is None:
            environment = self.session.merge_environment_settings(
                url, {}, None, self.session.verify, None
            )
            self._environments[origin] = environment
        return environment

    def send(
        self, method: str, url: str, *, replayable: bool | None = None, **kwargs: Any
    ) -> requests.Response:
        """The first answer that is not 429/5xx; raises UnavailableError when retries run out.

        `replayable`: the request may be carried out twice (default: any method but POST).
        One that is not raises AnswerLostError when its answer is lost after it was sent.
        """
        kwargs.pop("timeout", None)  # one timeout for every call: the transport's
        where = f"{method} {urlparse(url).path}"
        if replayable is None:
            replayable = method != "POST"
        attempt = 0
        while True:
            try:
                response = self._once(method, url, kwargs)
            except requests.exceptions.SSLError:
                raise  # a certificate the client refuses does not get better by retrying
            except _TRANSIENT as exc:
                if not replayable and not _never_sent(exc):
                    raise AnswerLostError(
                        f"{type(exc).__name__} on {where} after it was sent: it may have "
                        "been carried out, so it is not sent again"
                    ) from exc
                attempt += 1
                self._wait(attempt, None, f"{type(exc).__name__} on {where}")
                continue
            if classify(response) is not Verdict.RETRY:
                return response
            if not replayable and response.status_code in _GATEWAY_GAVE_UP:
                raise AnswerLostError(
                    f"{response.status_code} on {where}: a gateway answered for the server, "
                    "which may have carried it out, so it is not sent again"
                )
            attempt += 1
            self._wait(attempt, response, f"{response.status_code} on {where}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """A login host's POST (a ticket, a token): asking again is harmless."""
        return self.send("POST", url, replayable=True, **kwargs)


def _never_sent(error: Exception) -> bool:
    """True when the request cannot have reached the server: no connection was made."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)  # requests wraps urllib3's MaxRetryError
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class SuperOfficeClient:
    """A tenant's REST API: authenticated, rate-limited, retried, with errors classified."""

    def __init__(
        self, *, transport: Transport, auth: SuperOfficeAuth, tenant: TenantLocator
    ) -> None:
        self.transport = transport
        self.auth = auth
        self.tenant = tenant

    @property
    def retries(self) -> int:
        """Requests re-sent after 429/5xx/connection failures."""
        return self.transport.retries

    def url(self, path: str) -> str:
        """The absolute URL of `path` (relative to `/api/v1/`) on the tenant's current host."""
        return self.tenant.base_url() + path.lstrip("/")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; returns a 2xx/3xx response, raises an ApiError, UnavailableError
        or AnswerLostError (`Transport.send`: `replayable`).

        A 401 renews the credential once; a 421 looks the tenant up again once."""
        renewed, rediscovered = False, False
        while True:
            response = self.transport.send(method, self.url(path), auth=self.auth, **kwargs)
            verdict = classify(response)
            if verdict is Verdict.OK:
                return response
            if verdict is Verdict.REAUTH and not renewed and self.auth.renew():
                renewed = True
            elif verdict is Verdict.REDISCOVER and not rediscovered and self.tenant.rediscover():
                rediscovered = True
            elif verdict is Verdict.REDISCOVER:
                raise UnavailableError(f"421 Misdirected Request: {api_error(response).message}")
            else:
                raise api_error(response)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET `path` and return its JSON body."""
        return self.request("GET", path, **kwargs).json()

    def agent(
        self,
        operation: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        replayable: bool = True,
    ) -> Any:
        """POST an RPC agent call (`Agents/Quote/<operation>`); None for an empty (204) answer.

        Agent calls read, build unsaved entities, or save a whole entity by its id, and may be
        sent again; a call that creates one (`CreateAndSaveQuote`, a save of an entity whose
        id is 0) passes `replayable=False`.
        """
        response = self.request(
            "POST", f"Agents/{operation}", json=body, params=params, replayable=replayable
        )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def archive_page(self, resource: str, query: ArchiveQuery) -> list[dict[str, Any]]:
        """One page of rows of an archive list (`GET /api/v1/Person?$select=...`)."""
        body = self.get_json(resource, params=query.params())
        return list(body.get("value") or [])

    def archive(self, resource: str, query: ArchiveQuery) -> Iterator[list[dict[str, Any]]]:
        """Pages of an archive list, following `odata.nextLink` or `$skip` until a short page."""
        next_link: str | None = None
        while True:
            if next_link:
                body = self.get_json(next_link.split("/api/v1/", 1)[-1])
            else:
                body = self.get_json(resource, params=query.params())
            rows: list[dict[str, Any]] = list(body.get("value") or [])
            if rows:
                yield rows
            next_link = body.get("odata.nextLink")
            if not next_link and len(rows) < query.top:
                return
            if not next_link:
                query = query.next_page()
