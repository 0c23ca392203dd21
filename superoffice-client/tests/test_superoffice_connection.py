"""Auth modes, ticket renewal, 421 re-discovery, backoff and error bodies, over real HTTP
against the SuperOffice emulator."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sandbox.superoffice.auth import SIGNING_KEY_ID
from sandbox.testing import RunningSandbox
from superoffice_client import (
    AnswerLostError,
    AuthenticationError,
    NotFoundError,
    UnavailableError,
    connect,
)
from superoffice_client import config as config_module
from superoffice_client.auth import OAuthRefreshToken, SystemUserTicket

Config = Callable[..., dict[str, Any]]
Settings = Callable[..., dict[str, Any]]


def _count(so: RunningSandbox, route: str) -> int:
    return int(so.requests()["by_route"].get(route, 0))


@pytest.mark.parametrize("mode", ["system_user", "oauth", "basic"])
def test_every_auth_mode_reads_a_person(
    superoffice: RunningSandbox, private_key_pem: str, mode: str, config_for: Config
) -> None:
    client = connect(config_for(superoffice, mode, private_key_pem))
    person = client.get_json("Person/1")
    assert person["PersonId"] == 1


def test_system_user_ticket_is_fetched_once_and_reused(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    client = connect(config_for(superoffice, "system_user", private_key_pem))
    for record_id in (1, 2, 1):
        client.get_json(f"Person/{record_id}")
    assert _count(superoffice, "POST /Login/api/PartnerSystemUser/Authenticate") == 1


def test_expired_ticket_is_renewed_once_and_the_request_succeeds(
    superoffice: RunningSandbox,
    private_key_pem: str,
    config_for: Config,
    emulator_settings: Settings,
) -> None:
    client = connect(config_for(superoffice, "system_user", private_key_pem))
    client.get_json("Person/1")
    emulator_settings(superoffice, ticket_idle_seconds=0.3)
    time.sleep(0.4)  # the ticket has now been idle longer than the tenant allows
    assert client.get_json("Person/2")["PersonId"] == 2
    assert isinstance(client.auth, SystemUserTicket)
    assert client.auth.issued == 2
    assert _count(superoffice, "GET /{endpoint}/api/v1/Person/{record_id}") == 3  # one 401


def test_wrong_application_token_is_an_authentication_error(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    config = {**config_for(superoffice, "system_user", private_key_pem), "client_secret": "nope"}
    with pytest.raises(AuthenticationError) as raised:
        connect(config).get_json("Person/1")
    assert raised.value.error_type == "AuthenticationFailed"
    assert (
        raised.value.message == "PartnerSystemUser/Authenticate refused: Unknown application token"
    )


class ForgingSession(requests.Session):
    """The login host's real answers, except that Authenticate's JWT is replaced by one the
    test mints: what a spoofed login host would send, which the emulator never does."""

    def __init__(
        self, forge: Callable[[dict[str, Any]], str], published: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.forge = forge
        self.published = published
        """The key set to answer instead of the login host's (a spoofed host's own keys)."""

    def get(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().get(url, *args, **kwargs)
        if self.published is not None:
            response._content = json.dumps(self.published).encode()
        return response

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().post(url, *args, **kwargs)
        answer = response.json()
        claims = jwt.decode(answer["Token"], options={"verify_signature": False})
        answer["Token"] = self.forge(claims)
        response._content = json.dumps(answer).encode()
        return response


def _stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ticket_auth(config: dict[str, Any], session: requests.Session) -> SystemUserTicket:
    """The system-user auth `connect(config)` builds, sending through `session`."""
    auth = config_module._auth(config, "system_user", session, timeout=30.0)
    assert isinstance(auth, SystemUserTicket)
    return auth


@pytest.mark.parametrize(
    ("forge", "why"),
    [
        (
            lambda claims, key: jwt.encode(claims, key, "RS256", headers={"kid": SIGNING_KEY_ID}),
            "Signature verification failed",
        ),
        (
            lambda claims, key: jwt.encode(claims, key, "RS256", headers={"kid": "not-published"}),
            "the login host publishes no key 'not-published'",
        ),
        (
            lambda claims, key: jwt.encode(claims, "a shared secret known to a forger", "HS256"),
            "alg",
        ),
    ],
    ids=["signed-by-a-stranger", "unknown-key", "hmac-not-rs256"],
)
def test_a_ticket_from_a_jwt_the_login_host_did_not_sign_is_refused(
    superoffice: RunningSandbox,
    private_key_pem: str,
    config_for: Config,
    forge: Callable[[dict[str, Any], Any], str],
    why: str,
) -> None:
    config = config_for(superoffice, "system_user", private_key_pem)
    stranger = _stranger_key()
    auth = _ticket_auth(config, ForgingSession(lambda claims: forge(claims, stranger)))
    with pytest.raises(AuthenticationError) as raised:
        auth.authorization()
    assert raised.value.error_type == "AuthenticationFailed"
    assert why in raised.value.message
    assert auth.issued == 0


def test_a_jwt_of_another_issuer_or_out_of_its_lifetime_is_refused(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    """A spoofed host consistent with itself (its JWT verifies against the keys it
    publishes): only SuperOffice's issuer and the token's lifetime are left to refuse it."""
    config = config_for(superoffice, "system_user", private_key_pem)
    stranger = _stranger_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(stranger.public_key()))
    published = {"keys": [{**jwk, "kid": "spoof", "use": "sig", "alg": "RS256"}]}
    for changes, why in (
        ({"iss": "Someone Else"}, "Invalid issuer"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({}, ""),  # the same spoofed host with SuperOffice's claims: accepted, as it must be
    ):

        def forge(claims: dict[str, Any], changes: dict[str, Any] = changes) -> str:
            signed = {**claims, **changes}
            return jwt.encode(signed, stranger, "RS256", headers={"kid": "spoof"})

        auth = _ticket_auth(config, ForgingSession(forge, published))
        if not changes:
            assert auth.authorization().startswith("SOTicket ")
            continue
        with pytest.raises(AuthenticationError) as raised:
            auth.authorization()
        assert why in raised.value.message
        assert auth.issued == 0


def test_oauth_refresh_token_gives_a_bearer_token_once(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    client = connect(config_for(superoffice, "oauth"))
    client.get_json("Person/1")
    client.get_json("Contact/1")
    assert isinstance(client.auth, OAuthRefreshToken)
    assert client.auth.issued == 1


def test_basic_with_a_wrong_password_is_refused_with_superoffice_message(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    config = {**config_for(superoffice, "basic"), "password": "wrong"}
    with pytest.raises(AuthenticationError) as raised:
        connect(config).get_json("Person/1")
    assert (raised.value.status, raised.value.error_type, raised.value.message) == (
        401,
        "SoAuthenticationException",
        "Unknown user name or password",
    )


def test_a_moved_tenant_is_found_again_after_421(
    superoffice: RunningSandbox,
    private_key_pem: str,
    config_for: Config,
    emulator_settings: Settings,
) -> None:
    client = connect(config_for(superoffice, "system_user", private_key_pem))
    client.get_json("Person/1")
    emulator_settings(superoffice, endpoint_prefix="sod2")
    assert client.get_json("Person/2")["PersonId"] == 2
    assert client.tenant.base_url() == f"{superoffice.url}/sod2/Cust12345/api/v1/"
    assert client.tenant.lookups == 2


def test_discovery_falls_back_to_api_url_when_the_status_host_is_down(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    config = config_for(superoffice, "system_user", private_key_pem)
    client = connect({**config, "api_url": f"{superoffice.url}/Cust12345", "max_retries": 0})
    client.tenant._login_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    assert client.get_json("Person/1")["PersonId"] == 1


def test_injected_429s_are_retried_until_the_request_succeeds(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    client = connect({**config_for(superoffice, "system_user", private_key_pem), "max_retries": 8})
    superoffice.set_faults(rate_429=0.5, retry_after=0, seed=11)
    people = [client.get_json(f"Person/{n}")["PersonId"] for n in (1, 2, 3)]
    injected = superoffice.faults()["injected"]["429"]
    assert people == [1, 2, 3]
    assert injected > 0
    assert client.retries == injected


def test_retries_run_out_as_unavailable(
    superoffice: RunningSandbox, private_key_pem: str, config_for: Config
) -> None:
    client = connect({**config_for(superoffice, "basic"), "max_retries": 3})
    superoffice.set_faults(rate_429=1.0, retry_after=0)
    with pytest.raises(
        UnavailableError, match=r"after 3 retries: 429 on GET /Cust12345/api/v1/Person/1"
    ):
        client.get_json("Person/1")
    assert client.retries == 3
    assert superoffice.faults()["injected"]["429"] == 4


@pytest.mark.parametrize(
    ("lost", "raised"),
    [
        ("rate_drop_after_write", r"ConnectionError on POST .*/Person after it was sent"),
        # a gateway's 504: the server behind it may have saved the record after it gave up
        ("rate_504_after_write", r"504 on POST .*/Person: a gateway answered for the server"),
    ],
)
def test_a_create_whose_answer_is_lost_is_raised_not_sent_again(
    superoffice: RunningSandbox, config_for: Config, lost: str, raised: str
) -> None:
    client = connect({**config_for(superoffice, "basic"), "max_retries": 3})
    before = len(superoffice.records("persons"))
    superoffice.set_faults(**{lost: 1.0})

    with pytest.raises(AnswerLostError, match=raised):
        client.request("POST", "Person", json={"Firstname": "Kari", "Lastname": "Nordmann"})

    assert len(superoffice.records("persons")) == before + 1  # it happened, once
    assert client.retries == 0


def test_server_errors_are_retried_where_sending_twice_is_harmless(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    client = connect({**config_for(superoffice, "basic"), "max_retries": 3})
    person = client.get_json("Person/1")
    superoffice.set_faults(rate_5xx=1.0, seed=3)  # 500, 502 and 503, nothing stored
    with pytest.raises(UnavailableError, match=r"after 3 retries: 50[023] on PUT"):
        client.request("PUT", "Person/1", json=person)  # a whole save by id: sent again
    assert client.retries == 3


def test_a_lost_answer_is_retried_where_sending_twice_is_harmless(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    client = connect({**config_for(superoffice, "basic"), "max_retries": 3})
    person = client.get_json("Person/1")
    superoffice.set_faults(rate_drop=1.0)  # the connection drops before an answer
    with pytest.raises(UnavailableError, match=r"after 3 retries: ConnectionError on GET"):
        client.get_json("Person/1")
    assert client.retries == 3
    superoffice.set_faults(rate_drop=0.0, rate_drop_after_write=1.0)
    with pytest.raises(AnswerLostError):  # a create, as its caller says: not sent again
        client.agent("Quote/SaveQuoteLine", {"QuoteLineId": 0}, replayable=False)
    assert client.retries == 3
    with pytest.raises(UnavailableError, match=r"after 3 retries: ConnectionError on PUT"):
        client.request("PUT", "Person/1", json=person)  # a whole save, by id: sent again
    assert client.retries == 6


def test_a_create_that_never_reached_the_server_is_sent_again(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    nowhere = "http://127.0.0.1:9/Cust12345"  # nothing listens on the discard port
    client = connect({**config_for(superoffice, "basic"), "api_url": nowhere, "max_retries": 2})

    with pytest.raises(UnavailableError, match=r"after 2 retries: ConnectionError on POST"):
        client.request("POST", "Person", json={"Firstname": "Kari"})
    assert client.retries == 2  # no connection was made: safe to try again


def test_not_found_carries_superoffice_error_body(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    client = connect(config_for(superoffice, "basic"))
    with pytest.raises(NotFoundError) as raised:
        client.get_json("Person/99999")
    assert (raised.value.status, raised.value.error_type, raised.value.message) == (
        404,
        "SoNotFoundException",
        "Person id 99999 not found",
    )


def test_secrets_never_reach_the_log(
    superoffice: RunningSandbox,
    private_key_pem: str,
    caplog: pytest.LogCaptureFixture,
    config_for: Config,
    emulator_settings: Settings,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = connect(config_for(superoffice, "system_user", private_key_pem))
    superoffice.set_faults(rate_429=0.5, retry_after=0, seed=3)
    client.get_json("Person/1")
    emulator_settings(superoffice, ticket_idle_seconds=0.3)
    time.sleep(0.4)
    client.get_json("Person/2")
    assert superoffice.token not in caplog.text
    assert "SOTicket" not in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def test_requests_per_second_holds_across_threads(
    superoffice: RunningSandbox, config_for: Config
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = connect(
        {**config_for(superoffice, "basic"), "requests_per_second": 20, "max_concurrency": 4}
    )
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda n: client.get_json(f"Person/{n}")["PersonId"], [1, 2, 3] * 4))
    elapsed = time.monotonic() - started

    assert sorted(found) == sorted([1, 2, 3] * 4)
    assert elapsed >= 11 / 20  # 12 requests at 20/s: the 12th starts after 0.55 s


def test_the_environment_proxy_is_honoured_though_read_once_per_host(
    superoffice: RunningSandbox, config_for: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nobody listens
    client = connect({**config_for(superoffice, "basic"), "max_retries": 0})
    with pytest.raises(UnavailableError, match="ProxyError on GET"):
        client.get_json("Person/1")

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert connect(config_for(superoffice, "basic")).get_json("Person/1")["PersonId"] == 1
