"""The login host of the emulated tenant: system-user tickets, OAuth tokens, tenant status,
and the sandbox-only settings call that moves the tenant or shortens ticket idle time."""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .auth import Authenticator
from .errors import BadRequestError, SoError
from .http import error_response, json_response, read_json, rule
from .tenancy import Tenancy

__all__ = ["LoginRoutes"]


class LoginRoutes:
    """Routes outside `/{endpoint}/api/v1/`: they need no ticket."""

    def __init__(self, auth: Authenticator, tenancy: Tenancy) -> None:
        self.auth = auth
        self.tenancy = tenancy

    def rules(self) -> list[Rule]:
        return [
            rule("/Login/api/PartnerSystemUser/Authenticate", "POST", "Authenticate",
                  self.authenticate),
            rule("/login/common/oauth/tokens", "POST", "OAuthTokens", self.oauth_tokens),
            rule("/api/state/<context>", "GET", "TenantStatus", self.tenant_status),
            rule("/login/.well-known/jwks", "GET", "Jwks", self.jwks),
            rule("/_superoffice/settings", "GET", "GetSandboxSettings", self.settings),
            rule("/_superoffice/settings", "PUT", "PutSandboxSettings", self.settings),
        ]  # fmt: skip

    def authenticate(self, request: Request) -> Response:
        try:
            body = read_json(request)
        except SoError:
            body = None
        webapi = f"{request.host_url}{self.tenancy.endpoint_path()}/api/"
        return json_response(self.auth.authenticate_system_user(body, webapi))

    def oauth_tokens(self, request: Request) -> Response:
        status, body = self.auth.refresh_access_token(request.form.to_dict())
        return json_response(body, status)

    def jwks(self, request: Request) -> Response:
        return json_response(self.auth.jwks())

    def tenant_status(self, request: Request, context: str) -> Response:
        return json_response(self.tenancy.status(context, request.host_url))

    def settings(self, request: Request) -> Response:
        """Sandbox-only: move the tenant (path prefix, host name), set its state or idle time."""
        if request.method == "PUT":
            try:
                body = read_json(request) or {}
                if not isinstance(body, dict):
                    raise BadRequestError("Settings must be a JSON object")
                for name in ("endpoint_prefix", "endpoint_host", "state"):
                    if body.get(name) is not None and not isinstance(body[name], str):
                        raise BadRequestError(f"{name} must be a string")
                self.tenancy.move(
                    body.get("endpoint_prefix"), body.get("state"), body.get("endpoint_host")
                )
                if "ticket_idle_seconds" in body:
                    self.auth.idle_seconds = float(body["ticket_idle_seconds"])
            except (SoError, ValueError, TypeError) as failure:
                error = failure if isinstance(failure, SoError) else BadRequestError(str(failure))
                return error_response(error)
        current = {
            "context": self.tenancy.context,
            "endpoint_prefix": self.tenancy.prefix,
            "endpoint_host": self.tenancy.host or "",
            "state": self.tenancy.state,
            "ticket_idle_seconds": self.auth.idle_seconds,
        }
        return json_response(current)
