"""Retry delays and the rate limiter, with fake clocks (no sockets, no sleeping)."""

from datetime import UTC, datetime

import pytest
import requests
from superoffice_client.errors import (
    NotFoundError,
    RecordRefusedError,
    Verdict,
    VersionConflictError,
    api_error,
    classify,
)
from superoffice_client.retry import RateLimiter, RetryPolicy, retry_after_seconds


def _response(
    status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body
    response.request = requests.Request("PATCH", "http://so.test/Cust1/api/v1/Person/7").prepare()
    return response


def test_retry_after_in_seconds_is_honoured() -> None:
    policy = RetryPolicy(jitter=lambda ceiling: 0.0)
    assert policy.delay(1, _response(429, {"Retry-After": "7"})) == 7.0


def test_retry_after_as_http_date_counts_from_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    wait = retry_after_seconds(
        _response(503, {"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}), now=now
    )
    assert wait == 30.0


def test_retry_after_is_capped_by_backoff_max() -> None:
    assert RetryPolicy(backoff_max=5).delay(1, _response(429, {"Retry-After": "3600"})) == 5


def test_backoff_doubles_under_full_jitter() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3, jitter=lambda ceiling: ceiling)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3]


def test_rate_limiter_spaces_requests_by_the_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(4, 2, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        with limiter.slot():
            pass
    assert slept == [0.25, 0.5]


def test_rate_limiter_refuses_a_zero_rate() -> None:
    with pytest.raises(ValueError, match="requests_per_second must be positive"):
        RateLimiter(0)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.OK),
        (304, Verdict.OK),
        (400, Verdict.REFUSED),
        (401, Verdict.REAUTH),
        (404, Verdict.NOT_FOUND),
        (409, Verdict.STALE),
        (412, Verdict.STALE),
        (421, Verdict.REDISCOVER),
        (429, Verdict.RETRY),
        (503, Verdict.RETRY),
    ],
)
def test_classify_reads_the_status(status: int, verdict: Verdict) -> None:
    assert classify(_response(status)) is verdict


def test_api_error_carries_superoffice_error_body() -> None:
    body = (
        b'{"Error": true, "ErrorType": "SoNotFoundException", '
        b'"ErrorMessage": "Contact id 99999 not found", "ErrorSource": "x"}'
    )
    error = api_error(_response(404, body=body))
    assert isinstance(error, NotFoundError)
    assert (error.status, error.error_type, error.message) == (
        404,
        "SoNotFoundException",
        "Contact id 99999 not found",
    )
    assert (
        str(error)
        == "404 SoNotFoundException: Contact id 99999 not found (PATCH /Cust1/api/v1/Person/7)"
    )


def test_api_error_maps_412_to_a_version_conflict() -> None:
    assert isinstance(api_error(_response(412, body=b"{}")), VersionConflictError)


def test_api_error_without_a_body_names_the_status() -> None:
    error = api_error(_response(400, body=b"bad"))
    assert type(error) is RecordRefusedError
    assert (error.error_type, error.message) == ("HTTP400", "bad")
