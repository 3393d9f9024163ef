"""The one retry policy: jittered exponential backoff for RetriableError only, bounded by attempts and time.

``Retry-After`` from the CRM wins over the computed wait (capped by the remaining deadline). Tests switch waits
off with ``set_testing(True)``; nothing else in the connector sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from connector.errors import RateLimitedError, RetriableError

__all__ = ["RetryPolicy", "call_with_retries", "set_testing"]

T = TypeVar("T")
_testing = False


def set_testing(*, enabled: bool) -> None:
    """Make every retry wait zero seconds (tests only)."""
    global _testing
    _testing = enabled


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    deadline_s: float = 120.0
    initial_wait_s: float = 0.5
    max_wait_s: float = 30.0

    def _wait(self, state: RetryCallState) -> float:
        if _testing:
            return 0.0
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait_s)
        backoff = wait_exponential_jitter(initial=self.initial_wait_s, max=self.max_wait_s)
        return float(backoff(state))

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.deadline_s),
            wait=self._wait,
            reraise=True,
        )


def call_with_retries(policy: RetryPolicy, fn: Callable[[], T]) -> T:
    """Call ``fn`` until it returns or raises a non-retriable error or the policy gives up (re-raising the last)."""
    for attempt in policy.retrying():
        with attempt:
            return fn()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
