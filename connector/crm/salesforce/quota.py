"""The daily API budget: read from `Sforce-Limit-Info` on every response, spent down to a reserve.

Salesforce counts every REST call of every integration against one daily limit per org. The connector keeps
`quota_reserve` of it for the others: once the org's usage reaches the rest, the next call raises
QuotaExhaustedError instead of being sent, so the run stops cleanly and the next run resumes from its
checkpoint. Messages carry counts only.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping

from connector.crm.port import ApiUsage
from connector.errors import QuotaExhaustedError

__all__ = ["QuotaMeter", "parse_limit_info", "parse_retry_after"]

_API_USAGE = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str) -> tuple[int, int] | None:
    """(used, limit) from `api-usage=N/M` (a `per-app-api-usage=` part is ignored), or None."""
    match = _API_USAGE.search(header)
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_retry_after(header: str | None) -> float | None:
    """Seconds from a numeric `Retry-After` header; None when absent or given as a date."""
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


class QuotaMeter:
    """Counts this adapter's HTTP calls and remembers the org's usage from the last response that told it.

    Safe to share between the thread that reads ahead and the one that writes: the count is locked, and
    `retry_after` is the last response's header as seen by the calling thread.
    """

    def __init__(self, *, reserve: float) -> None:
        self.reserve = reserve
        self.calls = 0
        self.throttled = 0
        self.used: int | None = None
        self.limit: int | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def retry_after(self) -> float | None:
        """`Retry-After` of this thread's last response (simple-salesforce's exceptions carry no headers)."""
        value: float | None = getattr(self._local, "retry_after", None)
        return value

    def count_call(self) -> None:
        with self._lock:
            self.calls += 1

    def count_throttled(self) -> None:
        """One call answered 429 (already counted by ``count_call``)."""
        with self._lock:
            self.throttled += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take usage and Retry-After from one response's headers."""
        info = headers.get("Sforce-Limit-Info")
        parsed = parse_limit_info(info) if info else None
        if parsed is not None:
            with self._lock:
                self.used, self.limit = parsed
        self._local.retry_after = parse_retry_after(headers.get("Retry-After"))

    @property
    def budget(self) -> int | None:
        """How many of the org's daily requests may be used before the reserve is reached."""
        return None if self.limit is None else math.floor(self.limit * (1 - self.reserve))

    def check(self) -> None:
        """Raise QuotaExhaustedError when the org's usage has reached the budget."""
        budget = self.budget
        if self.used is None or budget is None or self.used < budget:
            return
        raise QuotaExhaustedError(
            f"Salesforce daily API budget spent: {self.used} of {self.limit} requests used today; "
            f"{self.reserve:.0%} is kept for other integrations, so this run stops at {budget}"
        )

    def usage(self) -> ApiUsage:
        remaining = None if self.used is None or self.limit is None else max(self.limit - self.used, 0)
        return ApiUsage(calls=self.calls, remaining=remaining, limit=self.limit, throttled=self.throttled)
