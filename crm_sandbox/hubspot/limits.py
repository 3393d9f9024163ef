"""HubSpot rate limits: the per-app rolling 10-second limit, the daily limit and the search limit.

``check`` answers a request with None (allowed) or the 429 policy it breaks, and ``headers`` gives the
``X-HubSpot-RateLimit-*`` headers HubSpot sends on non-search responses. Rejected requests are not counted.
The daily count resets at midnight UTC (the sandbox account's time zone). ``None`` disables a limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm_sandbox.hubspot.errors import correlation_id

POLICY_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


def rate_limit_body(policy: str, app_id: int) -> dict[str, Any]:
    """The documented 429 body for ``policy``."""
    return {
        "status": "error",
        "message": POLICY_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": f"publicapi:private-app:{app_id}",
        "requestId": correlation_id(),
    }


@dataclass
class RateLimits:
    """Counters and settings; thread-safe. Adjust the public fields at any time (also via the admin API)."""

    per_ten_seconds: int | None = 190
    daily: int | None = 1_000_000
    search_per_second: int | None = 5
    retry_after: bool = False
    clock: Callable[[], float] = time.monotonic
    _window: deque[float] = field(default_factory=deque)
    _search_window: deque[float] = field(default_factory=deque)
    _day: str = ""
    _day_count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, *, search: bool) -> str | None:
        """Count one request; return the policy name it breaks (not counted then) or None."""
        now = self.clock()
        today = datetime.now(UTC).date().isoformat()
        with self._lock:
            if today != self._day:
                self._day, self._day_count = today, 0
            if self.daily is not None and self._day_count >= self.daily:
                return "DAILY"
            if search:
                window, limit, span = self._search_window, self.search_per_second, 1.0
            else:
                window, limit, span = self._window, self.per_ten_seconds, 10.0
            while window and window[0] <= now - span:
                window.popleft()
            if limit is not None and len(window) >= limit:
                return "SECONDLY" if search else "TEN_SECONDLY_ROLLING"
            window.append(now)
            self._day_count += 1
        return None

    def headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers reflecting the current counts."""
        now = self.clock()
        with self._lock:
            while self._window and self._window[0] <= now - 10.0:
                self._window.popleft()
            used = len(self._window)
            day = self._day_count
        out = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
        if self.per_ten_seconds is not None:
            out["X-HubSpot-RateLimit-Max"] = str(self.per_ten_seconds)
            out["X-HubSpot-RateLimit-Remaining"] = str(max(self.per_ten_seconds - used, 0))
        if self.daily is not None:
            out["X-HubSpot-RateLimit-Daily"] = str(self.daily)
            out["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(self.daily - day, 0))
        return out

    def configure(self, **settings: Any) -> None:
        """Change ``per_ten_seconds``, ``daily``, ``search_per_second`` or ``retry_after``; unknown: raise."""
        allowed = {"per_ten_seconds", "daily", "search_per_second", "retry_after"}
        unknown = set(settings) - allowed
        if unknown:
            raise ValueError(f"unknown limit settings: {sorted(unknown)}")
        with self._lock:
            for key, value in settings.items():
                setattr(self, key, value)

    def reset(self) -> None:
        """Forget all counted requests (windows and the daily count)."""
        with self._lock:
            self._window.clear()
            self._search_window.clear()
            self._day_count = 0
