"""Credentials for the SuperOffice Web API, as `requests` auth objects.

Three modes (superoffice-api.md §2): the system-user ticket (online, server to server),
an OAuth refresh-token Bearer (online, interactive consent), and Basic (on-premise). Each sets
`Authorization` and, when an application token is configured, `SO-AppToken` on every request.
Credentials that expire are cached behind a lock and renewed through `renew()`, which http.py
calls once on a 401. Secrets are never part of a repr, a log line or an exception message.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from superoffice_client.errors import AuthenticationError

__all__ = [
    "TICKET_CLAIM",
    "BasicCredentials",
    "OAuthRefreshToken",
    "Sender",
    "SuperOfficeAuth",
    "SystemUserTicket",
    "sign_system_token",
]

TICKET_CLAIM = "http://schemes.superoffice.net/identity/ticket"
ISSUER = "SuperOffice AS"
"""The `iss` of every JWT SuperOffice's login host signs (its published validation examples)."""


class Sender(Protocol):
    """What sends the login host's requests: a `Transport` (retried) or a plain session."""

    def get(self, url: str, **kwargs: Any) -> requests.Response: ...

    def post(self, url: str, **kwargs: Any) -> requests.Response: ...


class SuperOfficeAuth(requests.auth.AuthBase):
    """Base of the three modes: adds `SO-AppToken`; `renew()` drops a cached credential."""

    def __init__(self, app_token: str | None) -> None:
        self._app_token = app_token

    def authorization(self) -> str:
        """The value of the Authorization header."""
        raise NotImplementedError

    def renew(self) -> bool:
        """Forget a cached credential so the next request gets a new one ; False if none."""
        return False

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.authorization()
        if self._app_token:
            request.headers["SO-AppToken"] = self._app_token
        return request

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (secrets hidden)>"


def sign_system_token(system_token: str, private_key_pem: str, now: datetime) -> str:
    """`"{token}.{yyyyMMddHHmm}.{base64 RSA-SHA256 signature}"`, as SuperOffice signs it."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the system-user private key must be an RSA key in PEM format")
    data = f"{system_token}.{now.astimezone(UTC):%Y%m%d%H%M}"
    signature = key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{data}.{base64.b64encode(signature).decode()}"


def _refused(response: requests.Response, what: str) -> AuthenticationError:
    """An AuthenticationError naming the endpoint's own message, never the credentials."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    message = ""
    if isinstance(body, dict):
        message = str(body.get("ErrorMessage") or body.get("error_description") or "")
    return AuthenticationError(
        response.status_code, "AuthenticationFailed", f"{what} refused: {message}".rstrip(": ")
    )


class SystemUserTicket(SuperOfficeAuth):
    """`Authorization: SOTicket <ticket>`, the ticket got from PartnerSystemUser/Authenticate.

    The ticket is valid six hours, sliding with use; it is cached and re-issued on a 401.
    """

    def __init__(
        self,
        *,
        system_token: str,
        private_key: str,
        client_secret: str,
        context_identifier: str,
        authenticate_url: str,
        jwks_url: str,
        session: Sender,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(client_secret)
        self._system_token = system_token
        self._private_key = private_key
        self._client_secret = client_secret
        self._context_identifier = context_identifier
        self._authenticate_url = authenticate_url
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKSet | None = None
        self._session = session
        self._timeout = timeout
        self._clock = clock
        self._ticket: str | None = None
        self._lock = threading.Lock()
        self.issued = 0
        """How many tickets were fetched (tests count renewals with it)."""

    def _fetch_ticket(self) -> str:
        body = {
            "SignedSystemToken": sign_system_token(
                self._system_token, self._private_key, self._clock()
            ),
            "ApplicationToken": self._client_secret,
            "ContextIdentifier": self._context_identifier,
            "ReturnTokenType": "JWT",
        }
        response = self._session.post(self._authenticate_url, json=body, timeout=self._timeout)
        answer: Any = response.json() if response.ok else None
        if not isinstance(answer, dict) or not answer.get("IsSuccessful"):
            raise _refused(response, "PartnerSystemUser/Authenticate")
        claims = self._verified(str(answer["Token"]), response.status_code)
        ticket = claims.get(TICKET_CLAIM)
        if not ticket:
            raise AuthenticationError(
                response.status_code, "AuthenticationFailed", "the JWT has no ticket claim"
            )
        self.issued += 1
        return str(ticket)

    def _verified(self, token: str, status: int) -> dict[str, Any]:
        """The JWT's claims, once its RS256 signature verifies against the keys the login host
        publishes (`/login/.well-known/jwks`), its issuer is SuperOffice's and it is in its
        lifetime: a ticket is a credential, so it is not taken from a token anyone could mint.
        The audience is not checked, as in SuperOffice's own validation examples."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._signing_key(kid, status)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=ISSUER,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(
                status, "AuthenticationFailed", f"the login host's JWT does not verify: {error}"
            ) from None
        return claims

    def _signing_key(self, kid: str | None, status: int) -> Any:
        """The published key `kid` names; the key set is read again once for an unknown kid
        (SuperOffice rotates its signing keys)."""
        for fresh in (False, True):
            if self._keys is None or fresh:
                response = self._session.get(self._jwks_url, timeout=self._timeout)
                if not response.ok:
                    raise _refused(response, "login/.well-known/jwks")
                self._keys = jwt.PyJWKSet.from_dict(response.json())
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise AuthenticationError(
            status, "AuthenticationFailed", f"the login host publishes no key {kid!r}"
        )

    def authorization(self) -> str:
        with self._lock:
            if self._ticket is None:
                self._ticket = self._fetch_ticket()
            return f"SOTicket {self._ticket}"

    def renew(self) -> bool:
        with self._lock:
            self._ticket = None
        return True


class OAuthRefreshToken(SuperOfficeAuth):
    """`Authorization: Bearer <access token>`, refreshed with the OAuth refresh-token grant."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_url: str,
        session: Sender,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client_secret)
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._token_url = token_url
        self._session = session
        self._timeout = timeout
        self._clock = clock
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.issued = 0

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        response = self._session.post(self._token_url, data=form, timeout=self._timeout)
        answer: Any = response.json() if response.ok else None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise _refused(response, "OAuth token refresh")
        self._access_token = str(answer["access_token"])
        # Renew a minute early so a token never expires mid-request.
        self._expires_at = self._clock() + float(answer.get("expires_in") or 3600) - 60
        if answer.get("refresh_token"):  # SuperOffice does not rotate, but honour it if it does
            self._refresh_token = str(answer["refresh_token"])
        self.issued += 1

    def authorization(self) -> str:
        with self._lock:
            if self._access_token is None or self._clock() >= self._expires_at:
                self._refresh()
            return f"Bearer {self._access_token}"

    def renew(self) -> bool:
        with self._lock:
            self._access_token = None
        return True


class BasicCredentials(SuperOfficeAuth):
    """`Authorization: Basic ...` for on-premise installations."""

    def __init__(self, *, username: str, password: str, app_token: str | None = None) -> None:
        super().__init__(app_token)
        pair = f"{username}:{password}".encode()
        self._header = f"Basic {base64.b64encode(pair).decode()}"

    def authorization(self) -> str:
        return self._header
