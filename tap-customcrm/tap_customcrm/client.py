"""The base stream: every Customcrm request goes through the shared customcrm-client.

The SDK builds the request and pages; the client owns the session, the token, TLS, the timeout,
the retry policy (Retry-After, backoff with jitter) and error classification. So the tap and the
target retry and fail in exactly the same way.
"""

from __future__ import annotations

import math
import sys
import typing as t
from datetime import UTC, datetime
from functools import cached_property

import requests
from customcrm_client import ClientSettings, CustomcrmClient, classify
from singer_sdk import RESTStream
from singer_sdk.pagination import JSONPathPaginator

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.helpers.types import Context

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = ["CustomcrmStream", "wire_timestamp"]


def wire_timestamp(value: datetime) -> str:
    """The API's own timestamp shape: UTC, microseconds, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CustomcrmStream(RESTStream[str]):
    """A Customcrm list resource read incrementally by `updated_at` (inclusive)."""

    records_jsonpath = "$.items[*]"
    next_page_token_jsonpath = "$.next_cursor"  # noqa: S105 (a JSONPath, not a secret)
    primary_keys = ("id",)
    replication_key = "updated_at"
    # The API lists in (updated_at, id) order, so the bookmark can advance mid-stream.
    is_sorted = True

    @cached_property
    def client(self) -> CustomcrmClient:
        """One client per tap, shared by all its streams (one pool, one retry policy)."""
        tap_client = getattr(self._tap, "client", None)
        if isinstance(tap_client, CustomcrmClient):
            return tap_client
        return CustomcrmClient(ClientSettings.from_config(self.config))

    @override
    @property
    def url_base(self) -> str:
        return self.client.settings.api_url

    @property
    def resource(self) -> str:
        """The collection name in the API; the stream name unless a subclass says otherwise."""
        return self.name

    @override
    @property
    def path(self) -> str:  # type: ignore[override]
        return self.client.settings.path(self.resource)

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.client.session

    @override
    @property
    def authenticator(self) -> requests.auth.AuthBase:
        return self.client.auth

    @override
    @property
    def timeout(self) -> int:
        """The SDK wants whole seconds; round up, so 0.5 never becomes "no time at all"."""
        return math.ceil(self.client.settings.request_timeout)

    @override
    def get_new_paginator(self) -> JSONPathPaginator:
        return JSONPathPaginator(self.next_page_token_jsonpath)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """The bookmark goes to the API: the SDK never filters by it (inclusive `>=`)."""
        params: dict[str, t.Any] = {
            "limit": self.config.get("page_size", 100),
            "include_deleted": "true" if self.config.get("include_deleted", True) else "false",
        }
        since = self.get_starting_timestamp(context)
        if since is not None:
            params["updated_since"] = wire_timestamp(since)
        if next_page_token:
            params["cursor"] = next_page_token
        return params

    @override
    def validate_response(self, response: requests.Response) -> None:
        """The client's classification: 4xx rejected, 401/403 systemic, 429/5xx transient."""
        classify(response)

    @override
    def request_decorator(
        self, func: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        """Retries are the client's policy, not the SDK's default `backoff` settings."""
        policy = self.client.retry

        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            return policy.call(lambda: func(prepared, context), what=f"GET {self.path}")

        return send
