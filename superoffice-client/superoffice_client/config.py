"""The connection settings tap-superoffice and target-superoffice share, and the client they build.

`connection_schema()` is the JSON-schema `properties` both plugins add to their config schema
(secrets marked `writeOnly` so Meltano and the SDK treat them as sensitive); `connect(config)`
turns a plugin's config dict into a ready `SuperOfficeClient`. Missing settings for the chosen
auth mode are a `ValueError` naming the settings, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from superoffice_client.auth import (
    BasicCredentials,
    OAuthRefreshToken,
    SuperOfficeAuth,
    SystemUserTicket,
)
from superoffice_client.http import SuperOfficeClient, Transport, new_session
from superoffice_client.retry import RateLimiter, RetryPolicy
from superoffice_client.tenant import TenantLocator

__all__ = ["AUTH_MODES", "connect", "connection_schema"]

AUTH_MODES = ("system_user", "oauth", "basic")

_REQUIRED = {
    "system_user": ("context_identifier", "client_secret", "system_user_token", "private_key"),
    "oauth": ("context_identifier", "client_id", "client_secret", "refresh_token"),
    "basic": ("api_url", "username", "password"),
}


def _prop(
    kind: str, description: str, *, secret: bool = False, default: Any = None
) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": [kind, "null"] if default is None else [kind],
        "description": description,
    }
    if secret:
        prop["writeOnly"] = True
        prop["secret"] = True
    if default is not None:
        prop["default"] = default
    return prop


def connection_schema() -> dict[str, Any]:
    """JSON-schema properties of the connection settings (documented in each plugin's README)."""
    return {
        "auth_mode": {
            "type": ["string"],
            "enum": list(AUTH_MODES),
            "default": "system_user",
            "description": "system_user (online, server to server), oauth (refresh token), "
            "basic (on-premise)",
        },
        "login_url": _prop(
            "string",
            "SuperOffice login host of the environment: https://sod.superoffice.com (dev), "
            "https://qaonline.superoffice.com (stage) or https://online.superoffice.com (prod); "
            "used for tickets, OAuth and tenant discovery",
            default="https://online.superoffice.com",
        ),
        "context_identifier": _prop("string", "Tenant id, e.g. Cust12345"),
        "api_url": _prop(
            "string",
            "Tenant URL, e.g. https://sod2.superoffice.com/Cust12345: the fallback when discovery "
            "fails, and the only URL for on-premise (https://host/site)",
        ),
        "client_id": _prop("string", "Application client id (oauth)"),
        "client_secret": _prop(
            "string", "Application client secret, sent as SO-AppToken on every request", secret=True
        ),
        "system_user_token": _prop(
            "string", "The tenant's system user token (system_user)", secret=True
        ),
        "private_key": _prop(
            "string", "The application's RSA private key, PEM (system_user)", secret=True
        ),
        "refresh_token": _prop("string", "OAuth refresh token (oauth)", secret=True),
        "username": _prop("string", "User name (basic, on-premise)"),
        "password": _prop("string", "Password (basic, on-premise)", secret=True),
        "verify_tls": _prop("boolean", "Verify TLS certificates (keep on)", default=True),
        "ca_bundle": _prop(
            "string", "Path of a CA bundle to verify TLS with instead of the system's"
        ),
        "max_concurrency": _prop("integer", "Requests in flight at once", default=4),
        "requests_per_second": _prop(
            "number", "Most requests started per second (empty: no limit)"
        ),
        "max_retries": _prop(
            "integer", "Retries of a request after 429/5xx/connection errors", default=5
        ),
        "backoff_base": _prop(
            "number", "Seconds of the first backoff step (doubles per retry)", default=0.5
        ),
        "backoff_max": _prop(
            "number", "Longest wait between retries, also caps Retry-After", default=60.0
        ),
        "request_timeout": _prop("number", "Seconds before one request times out", default=60.0),
    }


def _auth(config: Mapping[str, Any], mode: str, session: Any, timeout: float) -> SuperOfficeAuth:
    login = str(config.get("login_url") or "https://online.superoffice.com").rstrip("/")
    if mode == "system_user":
        return SystemUserTicket(
            system_token=config["system_user_token"],
            private_key=config["private_key"],
            client_secret=config["client_secret"],
            context_identifier=config["context_identifier"],
            authenticate_url=f"{login}/Login/api/PartnerSystemUser/Authenticate",
            jwks_url=f"{login}/login/.well-known/jwks",
            session=session,
            timeout=timeout,
        )
    if mode == "oauth":
        return OAuthRefreshToken(
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            refresh_token=config["refresh_token"],
            token_url=f"{login}/login/common/oauth/tokens",
            session=session,
            timeout=timeout,
        )
    return BasicCredentials(
        username=config["username"],
        password=config["password"],
        app_token=config.get("client_secret"),
    )


def connect(config: Mapping[str, Any]) -> SuperOfficeClient:
    """A client for the tenant the config names, with its auth mode, limits and retries."""
    mode = str(config.get("auth_mode") or "system_user")
    if mode not in AUTH_MODES:
        raise ValueError(f"auth_mode must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
    missing = [name for name in _REQUIRED[mode] if not config.get(name)]
    if missing:
        raise ValueError(f"auth_mode {mode} needs the settings: {', '.join(missing)}")
    concurrency = int(config.get("max_concurrency") or 4)
    verify: bool | str = config.get("ca_bundle") or config.get("verify_tls", True) is not False
    timeout = float(config.get("request_timeout") or 60.0)
    session = new_session(verify=verify, pool_size=concurrency, user_agent="superoffice-client")
    retry = RetryPolicy(
        max_retries=int(config.get("max_retries", 5)),
        backoff_base=float(config.get("backoff_base") or 0.5),
        backoff_max=float(config.get("backoff_max") or 60.0),
    )
    rps = config.get("requests_per_second")
    limiter = RateLimiter(float(rps) if rps else None, concurrency)
    transport = Transport(session, retry=retry, limiter=limiter, timeout=timeout)
    online = mode != "basic"
    tenant = TenantLocator(
        session=transport,
        api_url=config.get("api_url"),
        login_url=str(config.get("login_url") or "https://online.superoffice.com")
        if online
        else None,
        context_identifier=config.get("context_identifier") if online else None,
        timeout=timeout,
    )
    return SuperOfficeClient(
        transport=transport, auth=_auth(config, mode, transport, timeout), tenant=tenant
    )
