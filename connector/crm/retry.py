"""The one retry policy: jittered exponential backoff for RetriableError only, bounded by attempts and time.

Two kinds of trouble get two budgets, so that one cannot spend the other's: the CRM failing the call (429,
5xx, timeouts, dropped connections: ``attempts``), and records of a write refused as locked while the call
itself went through (``lock_attempts``; a locked record is sent again, alone, so its retries are its own).
A collection with 20 % locked rows on a CRM that answers 12 % of calls with 503 completes; either kind alone
still ends after its own budget. ``deadline_s`` bounds both together.

``Retry-After`` from the CRM wins over the computed wait (capped by the remaining deadline). Tests switch waits
off with ``set_testing(True)``; nothing else in the connector sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential_jitter

from connector.errors import RateLimitedError, RecordLockedError, RetriableError

__all__ = ["RetryPolicy", "call_with_retries", "set_testing"]

T = TypeVar("T")
_testing = False


def set_testing(*, enabled: bool) -> None:
    """Make every retry wait zero seconds (tests only)."""
    global _testing
    _testing = enabled


@dataclass(slots=True)
class _Budgets(stop_base):
    """The stop condition of one call: failed attempts counted by kind, each against its own budget."""

    transport: int
    locks: int
    failures: dict[int, bool] = field(default_factory=dict)
    """Attempt number -> whether it failed on locked records (True) or on the call (False)."""

    def __call__(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        self.failures[state.attempt_number] = isinstance(error, RecordLockedError)
        locked = sum(self.failures.values())
        return locked >= self.locks or len(self.failures) - locked >= self.transport


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    """Tries of one call while the CRM fails it (429, 5xx, timeouts, dropped connections)."""
    lock_attempts: int = 8
    """Sends of one write's records while the CRM refuses some of them as locked (the others are written)."""
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
            stop=_Budgets(self.attempts, self.lock_attempts) | stop_after_delay(self.deadline_s),
            wait=self._wait,
            reraise=True,
        )


def call_with_retries(policy: RetryPolicy, fn: Callable[[], T]) -> T:
    """Call ``fn`` until it returns or raises a non-retriable error or the policy gives up (re-raising the last)."""
    for attempt in policy.retrying():
        with attempt:
            return fn()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
