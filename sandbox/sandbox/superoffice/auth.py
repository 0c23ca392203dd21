"""Who may call the emulated tenant: system-user tickets, OAuth access tokens, Basic.

Decides which credentials are valid, issues tickets (PartnerSystemUser/Authenticate) and access
tokens (refresh-token grant), and expires tickets after an idle time (6 h sliding in the real
service). All secrets of one sandbox derive from its single `token` setting; they are compared
in constant time and never logged or echoed in an error message.

Signed system tokens are checked for format (`{system token}.{yyyyMMddHHmm}.{base64 signature}`),
for the system token itself and for a time stamp within 15 minutes; the RSA signature is only
verified when a public key is configured (`public_key_pem`), since a sandbox cannot know each
client's key pair.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .errors import UnauthorizedError

__all__ = ["TICKET_CLAIM", "Authenticator", "SandboxCredentials"]

TICKET_CLAIM = "http://schemes.superoffice.net/identity/ticket"
CLAIMS = "http://schemes.superoffice.net/identity/"
SIGNATURE_WINDOW = timedelta(minutes=15)
ACCESS_TOKEN_SECONDS = 3600
SIGNING_KEY_ID = "sandbox-signing-key"


@dataclass(frozen=True)
class SandboxCredentials:
    """The secrets this sandbox accepts (all default to the sandbox's one token)."""

    context: str
    client_id: str
    client_secret: str
    system_user_token: str
    refresh_token: str
    basic_password: str
    public_key_pem: str | None = None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Authenticator:
    """Issues and checks credentials; thread-safe."""

    def __init__(
        self,
        credentials: SandboxCredentials,
        *,
        idle_seconds: float = 6 * 3600,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.idle_seconds = idle_seconds
        self._now = now
        self._tickets: dict[str, float] = {}
        self._access_tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._signing_key: rsa.RSAPrivateKey | None = None

    # -- issuing ---------------------------------------------------------------------------

    def authenticate_system_user(self, body: Any, webapi_url: str) -> dict[str, Any]:
        """PartnerSystemUser/Authenticate: `{IsSuccessful, Token (JWT), ErrorMessage}`."""
        problem = self._system_user_problem(body)
        if problem:
            return {"IsSuccessful": False, "Token": None, "ErrorMessage": problem}
        ticket = "7T:" + base64.b64encode(secrets.token_bytes(48)).decode()
        with self._lock:
            self._tickets[ticket] = self._now()
        return {"IsSuccessful": True, "Token": self._jwt(ticket, webapi_url), "ErrorMessage": ""}

    def _system_user_problem(self, body: Any) -> str | None:
        if not isinstance(body, Mapping):
            return "Request body must be a JSON object"
        missing = [k for k in ("SignedSystemToken", "ApplicationToken", "ContextIdentifier")
                   if not isinstance(body.get(k), str) or not body.get(k)]  # fmt: skip
        if missing:
            return f"Missing {', '.join(missing)}"
        if not _same(body["ApplicationToken"], self.credentials.client_secret):
            return "Unknown application token"
        if body["ContextIdentifier"] != self.credentials.context:
            return f"Unknown context identifier {body['ContextIdentifier'][:40]}"
        return self._signed_token_problem(body["SignedSystemToken"])

    def _signed_token_problem(self, signed: str) -> str | None:
        parts = signed.rsplit(".", 2)
        if len(parts) != 3:
            return "SignedSystemToken must be '{system token}.{yyyyMMddHHmm}.{signature}'"
        token, stamp, signature = parts
        if not _same(token, self.credentials.system_user_token):
            return "Unknown system user token"
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC)
            raw_signature = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            return "SignedSystemToken has a malformed time stamp or signature"
        now = datetime.fromtimestamp(self._now(), UTC)
        if abs(now - signed_at) > SIGNATURE_WINDOW:
            return "SignedSystemToken time stamp is too old or in the future"
        if self.credentials.public_key_pem:
            key = serialization.load_pem_public_key(self.credentials.public_key_pem.encode())
            if not isinstance(key, rsa.RSAPublicKey):
                return "Configured public key is not an RSA key"
            try:
                key.verify(raw_signature, f"{token}.{stamp}".encode(), padding.PKCS1v15(),
                           hashes.SHA256())  # fmt: skip
            except InvalidSignature:
                return "SignedSystemToken signature does not verify"
        return None

    def _key(self) -> rsa.RSAPrivateKey:
        """The token-signing key, made per sandbox on first use."""
        with self._lock:
            if self._signing_key is None:
                self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._signing_key

    def jwks(self) -> dict[str, Any]:
        """The public half of the signing key as a JWK set (`/login/.well-known/jwks`)."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key().public_key()))
        return {"keys": [{**jwk, "kid": SIGNING_KEY_ID, "use": "sig", "alg": "RS256"}]}

    def _jwt(self, ticket: str, webapi_url: str) -> str:
        """An RS256 JWT like the real one, verifiable against `jwks()`."""
        key = self._key()
        issued = int(self._now())
        claims = {
            "iss": "SuperOffice AS",
            "aud": f"spn:{self.credentials.client_id}",
            "iat": issued,
            "nbf": issued,
            "exp": issued + 300,
            TICKET_CLAIM: ticket,
            CLAIMS + "ctx": self.credentials.context,
            CLAIMS + "associateid": "1",
            CLAIMS + "webapi_url": webapi_url,
            CLAIMS + "is_administrator": "False",
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": SIGNING_KEY_ID})

    def refresh_access_token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The OAuth token endpoint, refresh-token grant only (no rotation, like SuperOffice)."""
        if form.get("grant_type") != "refresh_token":
            detail = "Only grant_type=refresh_token is supported"
            return 400, {"error": "unsupported_grant_type", "error_description": detail}
        checks = (
            ("client_id", self.credentials.client_id),
            ("client_secret", self.credentials.client_secret),
            ("refresh_token", self.credentials.refresh_token),
        )
        for name, expected in checks:
            if not _same(str(form.get(name) or ""), expected):
                error = "invalid_grant" if name == "refresh_token" else "invalid_client"
                return 400, {"error": error, "error_description": f"Invalid {name}"}
        token = f"8A:{self.credentials.context}.{secrets.token_urlsafe(32)}"
        with self._lock:
            self._access_tokens[token] = self._now() + ACCESS_TOKEN_SECONDS
        body = {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}
        return 200, body

    # -- checking --------------------------------------------------------------------------

    def check(self, headers: Mapping[str, str]) -> None:
        """Raise a 401 unless the request carries a valid credential (header names lower-case)."""
        scheme, _, value = (headers.get("authorization") or "").strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "soticket":
            self._check_ticket(value, headers.get("so-apptoken") or "")
        elif scheme == "bearer":
            self._check_access_token(value)
        elif scheme == "basic":
            self._check_basic(value)
        else:
            raise UnauthorizedError("Authorization header missing or of an unsupported scheme")

    def _check_ticket(self, ticket: str, app_token: str) -> None:
        if not _same(app_token, self.credentials.client_secret):
            raise UnauthorizedError("SO-AppToken header missing or unknown")
        now = self._now()
        with self._lock:
            last_used = self._tickets.get(ticket)
            if last_used is None:
                raise UnauthorizedError("Unknown ticket")
            if now - last_used > self.idle_seconds:
                del self._tickets[ticket]
                raise UnauthorizedError("Ticket has expired")
            self._tickets[ticket] = now  # sliding expiry

    def _check_access_token(self, token: str) -> None:
        if _same(token, self.credentials.client_secret):
            return  # the sandbox's own token works as a long-lived access token
        with self._lock:
            expires = self._access_tokens.get(token)
        if expires is None:
            raise UnauthorizedError("Unknown access token")
        if self._now() >= expires:
            raise UnauthorizedError("Access token has expired")

    def _check_basic(self, value: str) -> None:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, binascii.Error):
            raise UnauthorizedError("Malformed Basic credentials") from None
        if not user or not _same(password, self.credentials.basic_password):
            raise UnauthorizedError("Unknown user name or password")
