"""The connection settings the tap and the target share, read from a Singer config dict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientSettings"]

DEFAULT_PATH_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ClientSettings:
    """Where Customcrm lives and how to talk to it. `api_token` is kept out of `repr`."""

    api_url: str
    api_token: str = field(repr=False)
    path_prefix: str = DEFAULT_PATH_PREFIX
    request_timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 0.5
    verify_tls: bool = True
    """Always on from config (DESIGN §3.9); only code may turn it off, e.g. for a local proxy."""
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    resource_paths: Mapping[str, str] = field(default_factory=dict)
    """Overrides of a resource's path below the prefix, e.g. `{"customers": "/clients"}`."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClientSettings:
        """Build from a tap/target config; unknown keys are ignored, missing ones get defaults."""
        if not config.get("api_url"):
            raise ValueError("Customcrm setting `api_url` is required")
        if not config.get("api_token"):
            raise ValueError("Customcrm setting `api_token` is required")
        return cls(
            api_url=str(config["api_url"]).rstrip("/"),
            api_token=str(config["api_token"]),
            path_prefix=_prefix(config.get("path_prefix", DEFAULT_PATH_PREFIX)),
            request_timeout=float(config.get("request_timeout", 30.0)),
            max_retries=int(config.get("max_retries", 5)),
            backoff_base=float(config.get("backoff_base", 0.5)),
            auth_header=str(config.get("auth_header", "Authorization")),
            auth_scheme=str(config.get("auth_scheme", "Bearer")),
            resource_paths=dict(config.get("resource_paths") or {}),
        )

    def path(self, resource: str) -> str:
        """The path of a resource collection, prefix included: `/api/v1/customers`."""
        own = self.resource_paths.get(resource, f"/{resource}")
        return f"{self.path_prefix}/{own.strip('/')}"

    @property
    def base_url(self) -> str:
        """Scheme and host (and any mount path) without the API prefix."""
        return self.api_url


def _prefix(raw: Any) -> str:
    text = str(raw or "").strip("/")
    return f"/{text}" if text else ""
