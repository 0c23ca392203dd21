"""The retry policy's decisions, with a recorded sleep instead of a real one (no sockets)."""

from __future__ import annotations

import pytest
import requests
from customcrm_client import CustomcrmRejectedError, CustomcrmSystemicError, RetryPolicy
from customcrm_client.errors import Problem, TransientError
from hypothesis import given
from hypothesis import strategies as st


class Flaky:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(
    waits: list[float],
    *,
    max_retries: int = 5,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
    retry_after_max: float = 120.0,
) -> RetryPolicy:
    return RetryPolicy(
        max_retries=max_retries,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        retry_after_max=retry_after_max,
        sleep=waits.append,
        jitter=lambda ceiling: ceiling,
    )


def test_retry_honours_retry_after_before_backoff() -> None:
    waits: list[float] = []
    attempt = Flaky(TransientError("429", status=429, retry_after=2.0))
    assert policy(waits).call(attempt) == "ok"
    assert waits == [2.0]


def test_retry_caps_a_huge_retry_after() -> None:
    waits: list[float] = []
    attempt = Flaky(TransientError("503", status=503, retry_after=86400.0))
    policy(waits, retry_after_max=5.0).call(attempt)
    assert waits == [5.0]


def test_retry_backs_off_exponentially_up_to_the_cap() -> None:
    waits: list[float] = []
    errors = [requests.exceptions.ConnectionError("down")] * 5
    policy(waits, backoff_base=1.0, backoff_max=6.0).call(Flaky(*errors))
    assert waits == [1.0, 2.0, 4.0, 6.0, 6.0]


def test_retry_jitters_within_the_exponential_ceiling() -> None:
    ceilings: list[float] = []
    retry = RetryPolicy(
        sleep=lambda _: None, jitter=lambda c: ceilings.append(c) or 0.0, backoff_base=0.5
    )
    retry.call(Flaky(requests.exceptions.Timeout(), requests.exceptions.Timeout()))
    assert ceilings == [0.5, 1.0]


def test_retry_gives_up_with_a_systemic_error_naming_the_cause() -> None:
    waits: list[float] = []
    attempt = Flaky(*[TransientError("500 Internal Server Error", status=500)] * 4)
    with pytest.raises(CustomcrmSystemicError) as caught:
        policy(waits, max_retries=2).call(attempt, what="GET /api/v1/customers")
    assert str(caught.value) == (
        "Customcrm GET /api/v1/customers failed after 3 tries: 500 Internal Server Error"
    )
    assert attempt.calls == 3
    assert len(waits) == 2


def test_retry_never_repeats_a_rejected_record() -> None:
    waits: list[float] = []
    attempt = Flaky(CustomcrmRejectedError(Problem(status=422, title="Invalid")))
    with pytest.raises(CustomcrmRejectedError):
        policy(waits).call(attempt)
    assert attempt.calls == 1
    assert waits == []


@given(
    retry=st.integers(min_value=0, max_value=60),
    base=st.floats(min_value=0, max_value=10),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)
def test_a_wait_never_exceeds_its_cap(retry: int, base: float, retry_after: float | None) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_max=30.0, retry_after_max=120.0)
    error = TransientError("503", status=503, retry_after=retry_after)
    wait = policy.wait_seconds(retry, error)
    assert 0.0 <= wait <= (120.0 if retry_after is not None else 30.0)
