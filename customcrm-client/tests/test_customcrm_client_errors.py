"""Classification of Customcrm responses into the client's error tree (pure: no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from customcrm_client import (
    CustomcrmError,
    CustomcrmRejectedError,
    CustomcrmStaleVersionError,
    CustomcrmSystemicError,
    TransientError,
    classify,
    error_for,
)


def response(status: int, body: Any = None, **headers: str) -> requests.Response:
    built = requests.Response()
    built.status_code = status
    built.reason = {422: "Unprocessable Content", 429: "Too Many Requests"}.get(status, "Error")
    if body is not None:
        built._content = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        headers.setdefault("Content-Type", "application/problem+json")
    built.headers.update(headers)
    return built


PROBLEM = {
    "type": "https://customcrm.example/problems/validation",
    "title": "Validation failed",
    "status": 422,
    "detail": "The customer has invalid fields.",
    "errors": [{"field": "email", "message": "not a valid e-mail address"}],
}


def test_classify_accepts_success_quietly() -> None:
    classify(response(200, {"items": []}))


def test_classify_rejects_422_with_the_apis_detail_and_field_errors() -> None:
    with pytest.raises(CustomcrmRejectedError) as caught:
        classify(response(422, PROBLEM, **{"X-Request-Id": "req-9"}))
    error = caught.value
    assert error.status == 422
    assert error.reason == (
        "422 Validation failed: The customer has invalid fields. "
        "(email: not a valid e-mail address) [request req-9]"
    )
    assert error.problem.field_errors == {"email": "not a valid e-mail address"}


def test_classify_reads_field_errors_given_as_an_object() -> None:
    body = {"title": "Bad Request", "status": 400, "errors": {"sku": ["is required"]}}
    with pytest.raises(CustomcrmRejectedError, match=r"^400 Bad Request \(sku: is required\)$"):
        classify(response(400, body))


def test_classify_keeps_a_plain_text_body_as_detail() -> None:
    with pytest.raises(CustomcrmRejectedError, match=r"^404 Error: no such thing$"):
        classify(response(404, "no such thing", **{"Content-Type": "text/plain"}))


def test_classify_turns_412_into_a_stale_version() -> None:
    body = {"title": "Precondition Failed", "status": 412, "detail": "version is 4, not 3"}
    with pytest.raises(CustomcrmStaleVersionError) as caught:
        classify(response(412, body))
    assert str(caught.value) == "412 Precondition Failed: version is 4, not 3"


@pytest.mark.parametrize("status", [401, 403])
def test_classify_makes_refused_credentials_systemic(status: int) -> None:
    body = {"title": "Unauthorized", "status": status, "detail": "invalid token"}
    with pytest.raises(CustomcrmSystemicError) as caught:
        classify(response(status, body))
    assert str(caught.value) == (
        f"Customcrm refused the credentials: {status} Unauthorized: invalid token"
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_classify_marks_throttling_and_server_errors_transient(status: int) -> None:
    with pytest.raises(TransientError) as caught:
        classify(response(status, {"title": "Slow down", "status": status}))
    assert caught.value.status == status
    assert caught.value.retry_after is None


def test_classify_reads_retry_after_in_seconds() -> None:
    with pytest.raises(TransientError) as caught:
        classify(response(429, {"title": "Too Many Requests"}, **{"Retry-After": "3"}))
    assert caught.value.retry_after == 3.0


def test_classify_reads_retry_after_as_an_http_date_in_the_past_as_zero() -> None:
    with pytest.raises(TransientError) as caught:
        classify(response(503, None, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert caught.value.retry_after == 0.0


@pytest.mark.parametrize("status", [400, 401, 404, 412, 422, 503])
def test_error_for_a_batch_items_problem_is_what_classify_raises_for_that_response(
    status: int,
) -> None:
    body = {**PROBLEM, "status": status}
    with pytest.raises(CustomcrmError) as raised:
        classify(response(status, body, **{"X-Request-Id": "req-9"}))
    built = error_for(status, body, {"X-Request-Id": "req-9"})
    assert (type(built), str(built)) == (type(raised.value), str(raised.value))
