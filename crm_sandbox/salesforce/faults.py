"""Seeded fault injection: error storms, slow responses, dropped connections, per-record write failures.

All randomness comes from one `random.Random(seed)`, so a test that sends the same requests in the same order
sees the same faults. Faults can be set at construction (`Faults(...)`), changed from Python (`configure`) or
over HTTP (`POST /__sandbox/faults` with the same keys as JSON).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields
from typing import Any

_ERROR_BODIES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    ),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry your request."),
}


@dataclass
class Faults:
    """What goes wrong, and how often (rates are probabilities per request or per record)."""

    seed: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    storm_remaining: int = 0
    storm_status: int = 503
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    drop_rate: float = 0.0
    record_error_rate: float = 0.0
    record_error_code: str = "UNABLE_TO_LOCK_ROW"
    record_error_message: str | None = None
    """The message of injected record errors, formatted with the record (`"Blocked: {Email}"`), as an admin's
    validation rule may quote field values; None for the standard message of the code."""
    locked_ids: dict[str, int] = field(default_factory=dict)
    """Record id -> how many more writes of that record fail with UNABLE_TO_LOCK_ROW (deterministic locks)."""
    token_ttl_seconds: float | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def configure(self, **changes: Any) -> None:
        """Change settings (unknown keys raise ValueError); `seed` re-seeds the generator."""
        known = {item.name for item in fields(self) if not item.name.startswith("_")}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, value)
            if "seed" in changes:
                self._rng.seed(self.seed)

    def settings(self) -> dict[str, Any]:
        """The current settings as JSON-ready values."""
        return {item.name: getattr(self, item.name) for item in fields(self) if not item.name.startswith("_")}

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def request_error(self) -> int | None:
        """The HTTP status to fail this request with (a storm first, then the random rate), or None."""
        with self._lock:
            if self.storm_remaining > 0:
                self.storm_remaining -= 1
                return self.storm_status
        return self.error_status if self._roll(self.error_rate) else None

    def delay(self) -> float:
        """Seconds to stall this response."""
        return self.slow_seconds if self._roll(self.slow_rate) else 0.0

    def drop(self) -> bool:
        """Whether to cut this connection before the response is complete."""
        return self._roll(self.drop_rate)

    def record_error(self, record_id: str | None = None) -> str | None:
        """The statusCode to fail one record of a write with, or None (a held lock first, then the rate)."""
        if record_id is not None:
            with self._lock:
                remaining = self.locked_ids.get(record_id, 0)
                if remaining > 0:
                    self.locked_ids[record_id] = remaining - 1
                    return "UNABLE_TO_LOCK_ROW"
        return self.record_error_code if self._roll(self.record_error_rate) else None


def error_body(status: int) -> tuple[str, str]:
    """(errorCode, message) of an injected HTTP error."""
    return _ERROR_BODIES.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
