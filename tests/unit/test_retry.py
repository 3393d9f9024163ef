"""The one retry policy: retries only retriable errors, honours Retry-After, stops on attempts or deadline."""

from __future__ import annotations

import pytest
from tenacity import RetryCallState

from connector.crm.retry import RetryPolicy, call_with_retries, set_testing
from connector.errors import (
    AuthenticationError,
    RateLimitedError,
    RecordGoneError,
    RecordLockedError,
    ServiceUnavailableError,
)

pytestmark = pytest.mark.usefixtures("no_retry_waits")


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


def locked(n: int) -> RecordLockedError:
    return RecordLockedError(f"locked #{n}", record_id="003x")


def test_locked_records_and_failing_calls_spend_separate_budgets() -> None:
    """Five lock rounds and five 503s in one write, each kind below its own budget of six: it completes."""
    errors = [error for n in range(5) for error in (locked(n), ServiceUnavailableError(f"503 #{n}"))]
    flaky = Flaky(*errors)
    assert call_with_retries(RetryPolicy(attempts=6, lock_attempts=6), flaky) == "ok"
    assert flaky.calls == 11


def test_failing_calls_stop_at_their_budget_whatever_the_locks_left() -> None:
    """Lock rounds in between do not stretch the transport budget: the third 503 ends it."""
    flaky = Flaky(locked(0), ServiceUnavailableError("503 #0"), locked(1), ServiceUnavailableError("503 #1"),
                  locked(2), ServiceUnavailableError("503 #2"), locked(3))  # fmt: skip
    with pytest.raises(ServiceUnavailableError, match="#2"):
        call_with_retries(RetryPolicy(attempts=3, lock_attempts=10), flaky)
    assert flaky.calls == 6


def test_lock_rounds_stop_at_their_own_budget_and_the_last_lock_is_raised() -> None:
    flaky = Flaky(ServiceUnavailableError("503"), *(locked(n) for n in range(10)))
    with pytest.raises(RecordLockedError, match="#3"):
        call_with_retries(RetryPolicy(attempts=3, lock_attempts=4), flaky)
    assert flaky.calls == 5


def test_retry_after_sets_the_wait_and_is_capped() -> None:
    """Without testing mode the wait follows Retry-After, capped at max_wait_s."""
    set_testing(enabled=False)
    policy = RetryPolicy(max_wait_s=2.0)
    call_state = RetryCallState(policy.retrying(), fn=None, args=(), kwargs={})
    call_state.set_exception((RateLimitedError, RateLimitedError("429", retry_after=1.5), None))
    assert policy._wait(call_state) == 1.5
    call_state.set_exception((RateLimitedError, RateLimitedError("429", retry_after=60), None))
    assert policy._wait(call_state) == 2.0
