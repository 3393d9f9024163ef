"""The one retry policy: retries only retriable errors, honours Retry-After, stops on attempts or deadline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tenacity import RetryCallState

from connector.crm.retry import RetryPolicy, call_with_retries, set_testing
from connector.errors import (
    AuthenticationError,
    RateLimitedError,
    RecordGoneError,
    ServiceUnavailableError,
)


@pytest.fixture(autouse=True)
def _no_waiting() -> Iterator[None]:
    set_testing(enabled=True)
    yield
    set_testing(enabled=False)


class Flaky:
    """Fails with the given errors in turn, then returns 'ok'; counts calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retriable_errors_are_retried_until_success() -> None:
    """429 and 5xx are transient: the call goes on until it succeeds."""
    flaky = Flaky(RateLimitedError("429", retry_after=1.0), ServiceUnavailableError("503"))
    assert call_with_retries(RetryPolicy(), flaky) == "ok"
    assert flaky.calls == 3


def test_fatal_and_record_errors_are_not_retried() -> None:
    """An authentication failure or a deleted record is raised at once, after one call."""
    for error in (AuthenticationError("401"), RecordGoneError("gone", record_id="003x")):
        flaky = Flaky(error)
        with pytest.raises(type(error)):
            call_with_retries(RetryPolicy(), flaky)
        assert flaky.calls == 1


def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    """After the configured attempts the last retriable error propagates unchanged."""
    flaky = Flaky(*(ServiceUnavailableError(f"503 #{i}") for i in range(10)))
    with pytest.raises(ServiceUnavailableError, match="#2"):
        call_with_retries(RetryPolicy(attempts=3), flaky)
    assert flaky.calls == 3


def test_retry_after_sets_the_wait_and_is_capped() -> None:
    """Without testing mode the wait follows Retry-After, capped at max_wait_s."""
    set_testing(enabled=False)
    policy = RetryPolicy(max_wait_s=2.0)
    call_state = RetryCallState(policy.retrying(), fn=None, args=(), kwargs={})
    call_state.set_exception((RateLimitedError, RateLimitedError("429", retry_after=1.5), None))
    assert policy._wait(call_state) == 1.5
    call_state.set_exception((RateLimitedError, RateLimitedError("429", retry_after=60), None))
    assert policy._wait(call_state) == 2.0
