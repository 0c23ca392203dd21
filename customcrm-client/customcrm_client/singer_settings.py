"""The connection settings tap-customcrm and target-customcrm both declare, written once.

Imports singer_sdk, which both plugins depend on; the client core does not need it.
"""

from __future__ import annotations

from singer_sdk import typing as th

__all__ = ["CONNECTION_SETTINGS"]

CONNECTION_SETTINGS = th.PropertiesList(
    th.Property(
        "api_url",
        th.URIType,
        required=True,
        title="API URL",
        description="Base URL of the Customcrm server, without the path prefix.",
        examples=["https://crm.example.com", "http://127.0.0.1:8766"],
    ),
    th.Property(
        "api_token",
        th.StringType,
        required=True,
        secret=True,
        title="API token",
        description="Token sent on every request (Bearer by default). Never logged.",
    ),
    th.Property(
        "path_prefix",
        th.StringType,
        default="/api/v1",
        description="Path prefix of the REST resources, for servers mounted elsewhere.",
    ),
    th.Property(
        "resource_paths",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            "Per-resource path overrides below the prefix, for a CRM whose names differ, "
            'e.g. {"customers": "/clients"}.'
        ),
    ),
    th.Property(
        "auth_header",
        th.StringType,
        default="Authorization",
        description="Header that carries the token.",
    ),
    th.Property(
        "auth_scheme",
        th.StringType,
        default="Bearer",
        description="Scheme written before the token; empty sends the bare token (API-key style).",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=30,
        description="Seconds to wait for a response before the try counts as failed.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=5,
        description=(
            "Retries after the first try on 429, 5xx, dropped connections and timeouts. "
            "Waits honour Retry-After, else exponential backoff with jitter."
        ),
    ),
    th.Property(
        "backoff_base",
        th.NumberType,
        default=0.5,
        description="First backoff ceiling in seconds; doubles on every retry (capped at 30 s).",
    ),
)
