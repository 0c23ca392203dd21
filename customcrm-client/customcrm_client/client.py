"""The Customcrm HTTP client: one session, the shared retry policy, errors classified.

Thread safety: the session is built once and never mutated afterwards (auth, TLS and headers are
fixed at construction, cookies are refused), and its connection pool is sized for the
target's worker threads, so one client can be shared by every sink and stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from customcrm_client.auth import TokenAuth
from customcrm_client.errors import (
    CustomcrmRejectedError,
    CustomcrmSystemicError,
    classify,
    error_for,
)
from customcrm_client.retry import RetryPolicy
from customcrm_client.settings import ClientSettings

__all__ = ["MAX_BATCH", "MAX_IDS_PER_READ", "MAX_PAGE_SIZE", "CustomcrmClient", "etag"]

MAX_BATCH = 100
"""The contract's cap on the items of one batch create (`POST .../batch`)."""

MAX_IDS_PER_READ = 100
"""The contract's cap on `ids=` (and on a repeated match-key filter) in one list request."""
MAX_PAGE_SIZE = 500
"""The contract's cap on `limit`."""


def etag(version: str | int) -> str:
    """The strong ETag of a record version, as `If-Match` wants it: `"7"`."""
    text = str(version)
    return text if text.startswith('"') else f'"{text}"'


class CustomcrmClient:
    """Talks to one Customcrm; each call retries transient failures, raises classified errors."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 16,
        user_agent: str = "customcrm-client",
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy(
            max_retries=settings.max_retries, backoff_base=settings.backoff_base
        )
        self.auth = TokenAuth(
            settings.api_token, header=settings.auth_header, scheme=settings.auth_scheme
        )
        self.session = _build_session(settings, self.auth, pool_size, user_agent)

    def __repr__(self) -> str:
        return f"CustomcrmClient({self.settings!r})"

    def url(self, path: str) -> str:
        """Absolute URL of a path that already includes the prefix."""
        return f"{self.settings.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; return a 2xx/3xx response or raise a classified error."""

        def attempt() -> requests.Response:
            return self._send_once(method, path, params=params, json=json, headers=headers)

        return self.retry.call(attempt, what=f"{method} {path}")

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One try: a 2xx/3xx response, or the classified error."""
        response = self.session.request(
            method,
            self.url(path),
            params=params,
            json=json,
            headers=dict(headers or {}),
            timeout=self.settings.request_timeout,
        )
        classify(response)
        return response

    def send(self, prepared: requests.PreparedRequest) -> requests.Response:
        """Send an already prepared request (the tap's SDK builds these) once, classified."""
        response = self.session.send(prepared, timeout=self.settings.request_timeout)
        classify(response)
        return response

    # Lists -----------------------------------------------------------------------------------

    def list_pages(
        self, resource: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a list, following `next_cursor` until it is null."""
        return self.list_pages_at(self.settings.path(resource), params)

    def list_pages_at(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of the list at `path` (e.g. a quote's lines), following `next_cursor`."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            body = self.request("GET", path, params=query).json()
            yield list(body.get("items") or [])
            cursor = body.get("next_cursor")
            if not cursor:
                return
            query = {**query, "cursor": cursor}

    def list_all(
        self, resource: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """All items of a (filtered, hence small) list."""
        return [item for page in self.list_pages(resource, params) for item in page]

    def read_many(
        self,
        resource: str,
        ids: Sequence[str],
        *,
        include_deleted: bool = True,
        concurrency: int = 1,
    ) -> list[dict[str, Any]]:
        """Records by id, `MAX_IDS_PER_READ` per request, `concurrency` requests at once;
        unknown ids are simply absent."""
        return self._read_chunks(
            resource,
            ids,
            lambda chunk: {
                "ids": ",".join(chunk),
                "include_deleted": _flag(include_deleted),
                "limit": str(len(chunk)),
            },
            concurrency,
        )

    def read_matching(
        self,
        resource: str,
        key: str,
        values: Sequence[str],
        *,
        include_deleted: bool = False,
        concurrency: int = 1,
    ) -> list[dict[str, Any]]:
        """Records whose match key `key` equals any of `values` (the filter repeated),
        `MAX_IDS_PER_READ` values per request, `concurrency` requests at once; the server
        compares them normalised."""
        return self._read_chunks(
            resource,
            values,
            lambda chunk: {
                key: chunk,
                "include_deleted": _flag(include_deleted),
                "limit": str(MAX_PAGE_SIZE),
            },
            concurrency,
        )

    def _read_chunks(
        self,
        resource: str,
        values: Sequence[str],
        params_of: Callable[[list[str]], dict[str, Any]],
        concurrency: int,
    ) -> list[dict[str, Any]]:
        """Every record of one list filtered by `values`, `MAX_IDS_PER_READ` values per
        request (the query stays short), `concurrency` requests at once."""
        unique = list(dict.fromkeys(values))
        chunks = [
            unique[start : start + MAX_IDS_PER_READ]
            for start in range(0, len(unique), MAX_IDS_PER_READ)
        ]

        def read(chunk: list[str]) -> list[dict[str, Any]]:
            return self.list_all(resource, params_of(chunk))

        if concurrency > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(min(concurrency, len(chunks))) as pool:
                pages = list(pool.map(read, chunks))
        else:
            pages = [read(chunk) for chunk in chunks]
        return [record for page in pages for record in page]

    # Writes ----------------------------------------------------------------------------------

    def create(self, path: str, body: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """POST a new record; the key makes a retried or repeated create return the first one."""
        headers = {"Idempotency-Key": idempotency_key}
        response = self.request("POST", path, json=dict(body), headers=headers)
        return dict(response.json())

    def create_many(
        self, path: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> list[dict[str, Any] | CustomcrmRejectedError]:
        """Create (record body, idempotency key) items through a batch path such as
        `settings.path("customers") + "/batch"`, `MAX_BATCH` per request. Answers in order, per
        item, the created record or the `CustomcrmRejectedError` its own `create` would have
        raised. Every item carries its key, so a retried batch creates nothing twice."""
        outcomes: list[dict[str, Any] | CustomcrmRejectedError] = []
        for start in range(0, len(items), MAX_BATCH):
            outcomes.extend(self._create_batch(path, items[start : start + MAX_BATCH]))
        return outcomes

    def _create_batch(
        self, path: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> list[dict[str, Any] | CustomcrmRejectedError]:
        """One batch request, retried whole. An item answered with what is no record's own
        fault (429 or 5xx: retried; 401: systemic) fails the whole batch, as a response would."""
        body = {"items": [{"idempotency_key": key, "record": dict(rec)} for rec, key in items]}

        def attempt() -> list[dict[str, Any] | CustomcrmRejectedError]:
            response = self._send_once("POST", path, json=body)
            results = response.json().get("results")
            if not isinstance(results, list) or len(results) != len(items):
                count = len(results) if isinstance(results, list) else "no"
                raise CustomcrmSystemicError(
                    f"Customcrm POST {path} answered {count} results for {len(items)} items"
                )
            return [_batch_outcome(result, response.headers) for result in results]

        return self.retry.call(attempt, what=f"POST {path}")

    def patch(self, path: str, changes: Mapping[str, Any], *, version: str | int) -> dict[str, Any]:
        """PATCH only `changes`, guarded by `If-Match` against the version we merged with."""
        headers = {"If-Match": etag(version)}
        response = self.request("PATCH", path, json=dict(changes), headers=headers)
        return dict(response.json())

    def delete(self, path: str, *, version: str | int | None = None) -> None:
        """DELETE (a soft delete in Customcrm); guarded by `If-Match` when a version is known."""
        headers = {"If-Match": etag(version)} if version is not None else {}
        self.request("DELETE", path, headers=headers)


def _batch_outcome(
    result: Any, headers: Mapping[str, str]
) -> dict[str, Any] | CustomcrmRejectedError:
    """A batch item's created record, or the rejection its own create would have raised;
    any other classified error is raised, for the whole batch."""
    answer: Mapping[str, Any] = result if isinstance(result, Mapping) else {}
    status, record = answer.get("status"), answer.get("record")
    if isinstance(status, int) and status >= 400:
        error = error_for(status, answer.get("problem"), headers)
        if isinstance(error, CustomcrmRejectedError):
            return error
        raise error
    if not isinstance(status, int) or not isinstance(record, Mapping):
        # Not shown: a record's values may be personal data.
        raise CustomcrmSystemicError(
            "Customcrm answered a batch item with neither record nor problem"
        )
    return dict(record)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _build_session(
    settings: ClientSettings, auth: TokenAuth, pool_size: int, user_agent: str
) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    session.verify = settings.verify_tls
    session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
    # Cookies would be shared mutable state between threads; the API does not use them.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
