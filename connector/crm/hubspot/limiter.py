"""Proactive rate limiting: keep below HubSpot's rolling limits instead of waiting to be refused.

A ``RollingWindowLimiter`` allows at most ``limit`` calls in any rolling ``window_s``. It counts a call when it
*finishes* (HubSpot counts it somewhere between sending and answering, so a finished call is never counted
later than HubSpot counted it), plus a small margin for timer resolution. The response headers
``X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds`` adjust it: a lower maximum lowers the limit, a
remaining count below ours means someone else shares the budget, and the difference is counted as calls made
now. After a 429 ``pause`` holds every call for the server's ``Retry-After``, or else until the window has
rolled. This module is the only place that reads the monotonic clock or sleeps, both through ``Clock`` so
tests inject a fake one.

One limiter may be shared by threads (the pull reads ahead while the sync writes): ``acquire`` reserves the
slot it grants, so calls in flight count against the limit until they are recorded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "CallLimiter", "Clock", "RollingWindowLimiter"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Clock:
    """Monotonic seconds, a sleeper and the wall-clock time (aware UTC); replaced by a fake in tests."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now


SYSTEM_CLOCK = Clock()


class CallLimiter(Protocol):
    """What the session asks of the account's call limit: ``RollingWindowLimiter`` in one process, or a limit
    kept in a shared store that several worker processes take their calls from."""

    def acquire(self) -> None: ...

    def record(self) -> None: ...

    def pause(self, seconds: float | None = None) -> None: ...

    def observe(self, *, limit: int | None, remaining: int | None, window_ms: int | None) -> None: ...


class RollingWindowLimiter:
    """At most ``limit`` calls in any rolling ``window_s`` seconds. One limiter per adapter, thread-safe.

    Use: ``acquire()`` before a call (sleeps as long as needed, then holds a slot), ``record()`` when it has
    finished (also when it failed: HubSpot counted it), then ``observe(...)`` with the rate-limit headers when
    the response had them.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Clock = SYSTEM_CLOCK,
        margin_s: float = 0.05,
        count_at_start: bool = False,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a limiter needs a positive limit and window")
        self.configured = limit
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self.clock = clock
        self.waited_s = 0.0
        """Total seconds slept so far (for reports and tests)."""
        self._finished: deque[float] = deque()
        self._blocked_until = 0.0
        self._in_flight = 0
        self._lock = threading.Lock()
        self.count_at_start = count_at_start
        """Count a call when it starts rather than when it finishes: for a window as short as the search
        limit's one second, where waiting for the answer before counting would cost a fifth of the rate."""

    def delay(self) -> float:
        """Seconds until the next call may start: 0 when it may start now."""
        with self._lock:
            return self._delay(self.clock.monotonic())

    def _delay(self, now: float) -> float:
        self._forget_before(now)
        wait = max(self._blocked_until - now, 0.0)
        used = len(self._finished) + self._in_flight
        if used >= self.limit:
            leaving = used - self.limit  # the finished call whose leaving the window frees a slot
            if leaving < len(self._finished):
                wait = max(wait, self._finished[leaving] + self.window_s + self.margin_s - now)
            else:  # calls in flight alone fill the limit: one of them must finish first
                wait = max(wait, self.margin_s)
        return wait

    def acquire(self) -> None:
        """Wait until a call may start without breaking the limit, and hold its slot until ``record``."""
        while True:
            with self._lock:
                wait = self._delay(self.clock.monotonic())
                if wait <= 0:
                    if self.count_at_start:
                        self._finished.append(self.clock.monotonic())
                    else:
                        self._in_flight += 1
                    return
                self.waited_s += wait
            self.clock.sleep(wait)

    def record(self) -> None:
        """Count one call that has just finished (and free the slot ``acquire`` held for it)."""
        with self._lock:
            if self.count_at_start:
                return
            self._in_flight = max(self._in_flight - 1, 0)
            self._finished.append(self.clock.monotonic())

    def in_window(self) -> int:
        """Calls counted in the current window."""
        with self._lock:
            self._forget_before(self.clock.monotonic())
            return len(self._finished)

    def observe(self, *, limit: int | None, remaining: int | None, window_ms: int | None) -> None:
        """Adjust to the server's rate-limit headers (each may be missing)."""
        with self._lock:
            if window_ms is not None and window_ms > 0:
                self.window_s = window_ms / 1000
            if limit is not None and limit > 0:
                self.limit = min(self.configured, limit)
                if remaining is not None:
                    now = self.clock.monotonic()
                    self._forget_before(now)
                    unseen = (limit - remaining) - len(self._finished)
                    self._finished.extend([now] * max(unseen, 0))

    def pause(self, seconds: float | None = None) -> None:
        """After a refusal: no call for ``seconds`` (the server's Retry-After), or else until the window rolls.

        When our own calls fill the window, waiting for the oldest to leave it is enough (``delay`` does that);
        otherwise others share the budget and a whole window must pass.
        """
        with self._lock:
            now = self.clock.monotonic()
            if seconds is None:
                self._forget_before(now)
                if len(self._finished) >= self.limit:
                    return
                seconds = self.window_s + self.margin_s
            self._blocked_until = max(self._blocked_until, now + seconds)

    def _forget_before(self, now: float) -> None:
        horizon = now - self.window_s - self.margin_s
        while self._finished and self._finished[0] <= horizon:
            self._finished.popleft()
