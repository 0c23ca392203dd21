"""Credentials, ticket expiry, tenant status and 421 over real HTTP."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sandbox.superoffice.auth import TICKET_CLAIM, Authenticator, SandboxCredentials
from sandbox.superoffice.errors import UnauthorizedError
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice", seed=3, seed_value=1) as running:
        yield running


@pytest.fixture(autouse=True)
def default_settings(sandbox: RunningSandbox) -> Iterator[None]:
    yield
    requests.put(
        f"{sandbox.url}/_superoffice/settings",
        json={
            "endpoint_prefix": "",
            "endpoint_host": "",
            "state": "Running",
            "ticket_idle_seconds": 21600,
        },
        timeout=30,
    )


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed(token: str, key: rsa.RSAPrivateKey, moment: datetime | None = None) -> str:
    data = f"{token}.{(moment or datetime.now(UTC)):%Y%m%d%H%M}"
    signature = key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{data}.{base64.b64encode(signature).decode()}"


def _authenticate(sandbox: RunningSandbox, **overrides: Any) -> dict[str, Any]:
    body = {
        "SignedSystemToken": f"{sandbox.token}.{datetime.now(UTC):%Y%m%d%H%M}.AAAA",
        "ApplicationToken": sandbox.token,
        "ContextIdentifier": "Cust12345",
        "ReturnTokenType": "JWT",
        **overrides,
    }
    response = requests.post(
        f"{sandbox.url}/Login/api/PartnerSystemUser/Authenticate", json=body, timeout=30
    )
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def _ticket(sandbox: RunningSandbox, key: rsa.RSAPrivateKey) -> str:
    answer = _authenticate(sandbox, SignedSystemToken=_signed(sandbox.token, key))
    assert answer["IsSuccessful"] is True
    claims = jwt.decode(answer["Token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(answer["Token"])["alg"] == "RS256"
    assert claims["http://schemes.superoffice.net/identity/ctx"] == "Cust12345"
    return str(claims[TICKET_CLAIM])


def _person(
    sandbox: RunningSandbox, headers: dict[str, str], prefix: str = "Cust12345"
) -> requests.Response:
    return requests.get(f"{sandbox.url}/{prefix}/api/v1/Person/1", headers=headers, timeout=30)


def test_system_user_ticket_with_app_token_opens_the_api(
    sandbox: RunningSandbox, key: rsa.RSAPrivateKey
) -> None:
    ticket = _ticket(sandbox, key)
    assert ticket.startswith("7T:")
    response = _person(
        sandbox, {"Authorization": f"SOTicket {ticket}", "SO-AppToken": sandbox.token}
    )
    assert response.status_code == 200


def test_a_ticket_without_the_app_token_is_refused(
    sandbox: RunningSandbox, key: rsa.RSAPrivateKey
) -> None:
    response = _person(sandbox, {"Authorization": f"SOTicket {_ticket(sandbox, key)}"})
    assert response.status_code == 401
    assert response.json() == {
        "Error": True,
        "ErrorType": "SoAuthenticationException",
        "ErrorMessage": "SO-AppToken header missing or unknown",
        "ErrorSource": "SuperOffice.WebApi.Authentication",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ApplicationToken": "wrong"}, "Unknown application token"),
        ({"ContextIdentifier": "Cust999"}, "Unknown context identifier Cust999"),
        (
            {"SignedSystemToken": "no-dots"},
            "SignedSystemToken must be '{system token}.{yyyyMMddHHmm}.{signature}'",
        ),
        ({"SignedSystemToken": "other.202601011200.AAAA"}, "Unknown system user token"),
        ({"SignedSystemToken": None}, "Missing SignedSystemToken"),
    ],
)
def test_authenticate_refuses_bad_requests_without_a_token(
    sandbox: RunningSandbox, overrides: dict[str, Any], message: str
) -> None:
    answer = _authenticate(sandbox, **overrides)
    assert answer == {"IsSuccessful": False, "Token": None, "ErrorMessage": message}


def test_authenticate_refuses_a_stale_signature(
    sandbox: RunningSandbox, key: rsa.RSAPrivateKey
) -> None:
    stale = _signed(sandbox.token, key, datetime.now(UTC) - timedelta(hours=2))
    answer = _authenticate(sandbox, SignedSystemToken=stale)
    assert answer["ErrorMessage"] == "SignedSystemToken time stamp is too old or in the future"


def test_signature_is_verified_when_a_public_key_is_configured(key: rsa.RSAPrivateKey) -> None:
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    credentials = SandboxCredentials("Cust1", "id", "secret", "App-1", "refresh", "pw", public)
    authenticator = Authenticator(credentials)
    body = {
        "SignedSystemToken": _signed("App-1", key),
        "ApplicationToken": "secret",
        "ContextIdentifier": "Cust1",
    }
    assert (
        authenticator.authenticate_system_user(body, "http://h/Cust1/api/")["IsSuccessful"] is True
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {**body, "SignedSystemToken": _signed("App-1", other)}
    refused = authenticator.authenticate_system_user(forged, "http://h/Cust1/api/")
    assert refused["ErrorMessage"] == "SignedSystemToken signature does not verify"


def test_tickets_expire_after_the_idle_time_and_slide_with_use() -> None:
    clock = [1000.0]
    authenticator = Authenticator(
        SandboxCredentials("C", "id", "s", "App-1", "r", "pw"),
        idle_seconds=60,
        now=lambda: clock[0],
    )
    signed = f"App-1.{datetime.fromtimestamp(clock[0], UTC):%Y%m%d%H%M}.AAAA"
    token = authenticator.authenticate_system_user(
        {"SignedSystemToken": signed, "ApplicationToken": "s", "ContextIdentifier": "C"}, "u"
    )["Token"]
    ticket = jwt.decode(token, options={"verify_signature": False})[TICKET_CLAIM]
    headers = {"authorization": f"SOTicket {ticket}", "so-apptoken": "s"}
    for _ in range(3):
        clock[0] += 50
        authenticator.check(headers)  # used within the idle time: still valid
    clock[0] += 61
    with pytest.raises(UnauthorizedError, match="Ticket has expired"):
        authenticator.check(headers)


def test_an_idle_ticket_answers_401_over_http(
    sandbox: RunningSandbox, key: rsa.RSAPrivateKey
) -> None:
    ticket = _ticket(sandbox, key)
    requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"ticket_idle_seconds": 0.2}, timeout=30
    )
    time.sleep(0.3)
    response = _person(
        sandbox, {"Authorization": f"SOTicket {ticket}", "SO-AppToken": sandbox.token}
    )
    assert response.status_code == 401
    assert response.json()["ErrorMessage"] == "Ticket has expired"
    assert "SOTicket" in response.headers["WWW-Authenticate"]


def test_refresh_token_grant_issues_a_bearer_access_token(sandbox: RunningSandbox) -> None:
    form = {
        "grant_type": "refresh_token",
        "client_id": "sandbox-client",
        "client_secret": sandbox.token,
        "refresh_token": sandbox.token,
    }
    answer = requests.post(f"{sandbox.url}/login/common/oauth/tokens", data=form, timeout=30)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert "refresh_token" not in body
    assert _person(sandbox, {"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    refused = requests.post(
        f"{sandbox.url}/login/common/oauth/tokens",
        data={**form, "refresh_token": "old"},
        timeout=30,
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_basic_credentials_work_with_the_sandbox_password(sandbox: RunningSandbox) -> None:
    good = base64.b64encode(f"admin:{sandbox.token}".encode()).decode()
    bad = base64.b64encode(b"admin:guess").decode()
    assert _person(sandbox, {"Authorization": f"Basic {good}"}).status_code == 200
    refused = _person(sandbox, {"Authorization": f"Basic {bad}"})
    assert (refused.status_code, refused.json()["ErrorMessage"]) == (
        401,
        "Unknown user name or password",
    )


def test_a_request_without_credentials_answers_401(sandbox: RunningSandbox) -> None:
    response = _person(sandbox, {})
    assert response.status_code == 401
    assert (
        response.json()["ErrorMessage"]
        == "Authorization header missing or of an unsupported scheme"
    )


def test_tenant_status_names_the_current_endpoint(sandbox: RunningSandbox) -> None:
    state = requests.get(f"{sandbox.url}/api/state/Cust12345", timeout=30).json()
    assert set(state) == {
        "ContextIdentifier",
        "Endpoint",
        "State",
        "IsRunning",
        "ValidUntil",
        "Api",
    }
    assert (state["Endpoint"], state["State"], state["IsRunning"]) == (
        f"{sandbox.url}/Cust12345",
        "Running",
        True,
    )
    assert state["Api"] == f"{sandbox.url}/Cust12345/api"
    unknown = requests.get(f"{sandbox.url}/api/state/Cust0", timeout=30).json()
    assert (unknown["State"], unknown["IsRunning"], unknown["Endpoint"]) == ("Unknown", False, None)


def test_a_moved_tenant_answers_421_on_the_old_endpoint(sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    moved = requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"endpoint_prefix": "sod3"}, timeout=30
    )
    assert moved.json()["endpoint_prefix"] == "sod3"
    stale = _person(sandbox, headers)
    assert stale.status_code == 421
    assert stale.json()["ErrorMessage"] == "Wrong subdomain used to access tenant"
    state = requests.get(f"{sandbox.url}/api/state/Cust12345", timeout=30).json()
    assert state["Endpoint"] == f"{sandbox.url}/sod3/Cust12345"
    assert _person(sandbox, headers, "sod3/Cust12345").status_code == 200


def test_another_tenant_is_not_found(sandbox: RunningSandbox) -> None:
    response = _person(sandbox, {"Authorization": f"Bearer {sandbox.token}"}, "Cust99")
    assert (response.status_code, response.json()["ErrorMessage"]) == (
        404,
        "Tenant 'Cust99' not found",
    )


def test_injected_faults_use_the_superoffice_error_body(sandbox: RunningSandbox) -> None:
    sandbox.set_faults(rate_429=1.0, retry_after=7)
    try:
        response = _person(sandbox, {"Authorization": f"Bearer {sandbox.token}"})
    finally:
        sandbox.clear_faults()
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    assert response.json()["ErrorType"] == "TooManyRequests"


def test_secrets_never_appear_in_error_messages(sandbox: RunningSandbox) -> None:
    answer = _authenticate(sandbox, ApplicationToken="wrong-secret-value")
    assert "wrong-secret-value" not in answer["ErrorMessage"]
    response = _person(sandbox, {"Authorization": "Bearer leaked-token-value"})
    assert "leaked-token-value" not in response.text


def test_the_ticket_jwt_verifies_against_the_published_jwks(
    sandbox: RunningSandbox, key: rsa.RSAPrivateKey
) -> None:
    answer = _authenticate(sandbox, SignedSystemToken=_signed(sandbox.token, key))
    keys = requests.get(f"{sandbox.url}/login/.well-known/jwks", timeout=30).json()["keys"]
    header = jwt.get_unverified_header(answer["Token"])
    published = next(k for k in keys if k["kid"] == header["kid"])
    public = jwt.PyJWK(published).key
    claims = jwt.decode(
        answer["Token"], public, algorithms=["RS256"], audience="spn:sandbox-client"
    )
    assert claims["iss"] == "SuperOffice AS"
    assert claims[TICKET_CLAIM].startswith("7T:")


def test_a_tenant_in_maintenance_answers_503_and_says_so_in_its_status(
    sandbox: RunningSandbox,
) -> None:
    requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"state": "OfflineMaintenance"}, timeout=30
    )
    state = requests.get(f"{sandbox.url}/api/state/Cust12345", timeout=30).json()
    assert (state["State"], state["IsRunning"]) == ("OfflineMaintenance", False)
    response = _person(sandbox, {"Authorization": f"Bearer {sandbox.token}"})
    assert (response.status_code, response.headers["Retry-After"]) == (503, "60")
    assert (
        response.json()["ErrorMessage"]
        == "Tenant Cust12345 is not running (state OfflineMaintenance)"
    )


def test_an_unknown_tenant_state_is_refused_by_the_settings_call(sandbox: RunningSandbox) -> None:
    response = requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"state": "Asleep"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["ErrorMessage"].startswith(
        "state must be one of Unknown, Provisioning, Running"
    )


def test_a_tenant_moved_to_another_host_answers_421_on_the_old_one(sandbox: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"endpoint_host": "localhost"}, timeout=30
    )
    state = requests.get(f"{sandbox.url}/api/state/Cust12345", timeout=30).json()
    port = sandbox.url.rsplit(":", 1)[1]
    assert state["Endpoint"] == f"http://localhost:{port}/Cust12345"
    stale = _person(sandbox, headers)
    assert (stale.status_code, stale.json()["ErrorType"]) == (421, "MisdirectedRequest")
    moved = requests.get(f"{state['Endpoint']}/api/v1/Person/1", headers=headers, timeout=30)
    assert moved.status_code == 200


def test_settings_refuse_values_of_the_wrong_type(sandbox: RunningSandbox) -> None:
    response = requests.put(
        f"{sandbox.url}/_superoffice/settings", json={"endpoint_host": 5}, timeout=30
    )
    assert (response.status_code, response.json()["ErrorMessage"]) == (
        400,
        "endpoint_host must be a string",
    )
