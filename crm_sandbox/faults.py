"""Seeded fault injection, one vocabulary for both emulators: request errors, error storms, slow answers, dropped
connections, per-record write failures (random or a held lock), expired tokens.

Every decision draws from one ``random.Random(seed)``, so a test that sends the same requests in the same order
sees the same faults. Faults are set at construction (``Faults(error_rate=0.1)``), from Python (``configure``) or
over HTTP (``POST /__sandbox/faults`` with the same keys as JSON; ``GET`` answers ``settings()``). An unknown key
or a value of the wrong kind is refused (ValueError; 400 over HTTP) and changes nothing.

| key | what it does |
|---|---|
| ``seed`` | re-seeds the generator |
| ``error_rate``, ``error_status`` | this share of requests is answered with ``error_status`` (default 503) |
| ``storm_rate``, ``storm_length`` | this share of requests starts a storm: ``storm_length`` answers in a row with ``storm_status`` |
| ``storm_remaining``, ``storm_status`` | the answers left in the current storm: set it to start one now |
| ``slow_rate``, ``slow_seconds`` | this share of responses is held back ``slow_seconds`` |
| ``drop_rate`` | this share of connections is cut before the response is complete |
| ``record_error_rate`` | this share of the records (HubSpot: batch inputs) of a write fails, the rest succeed |
| ``locked_ids`` | record id -> how many more writes of that record fail as locked (deterministic locks) |
| ``token_expired`` | while true, every API request is answered as one with an expired token (the token endpoint works) |

A vendor whose emulator can do more adds keys in a subclass (``crm_sandbox.salesforce.faults.SalesforceFaults``:
the code and message of record errors). Each emulator renders a fault as its vendor answers: the status and body
of an error, the per-record or per-input error of a write, the 401 of an expired token.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Faults", "setting"]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rate(value: Any) -> str | None:
    return None if _number(value) and 0 <= value <= 1 else "a number from 0 to 1"


def _seconds(value: Any) -> str | None:
    return None if _number(value) and value >= 0 else "a number of seconds (0 or more)"


def _integer(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"


def _count(value: Any) -> str | None:
    return None if _integer(value) is None and value >= 0 else "a whole number (0 or more)"


def _status(value: Any) -> str | None:
    return None if _count(value) is None and 400 <= value <= 599 else "an HTTP error status (400 to 599)"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _holds(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(k, str) and _count(n) is None for k, n in value.items())
    return None if ok else "an object of record id -> number of writes"


def setting(default: Any, check: Callable[[Any], str | None]) -> Any:
    """A fault setting with an immutable default and its check (None for a good value, else what it must be)."""
    return field(default=default, metadata={"check": check})


@dataclass
class Faults:
    """What goes wrong, and how often (see the module docstring for the keys). All off by default."""

    seed: int = setting(0, _integer)
    error_rate: float = setting(0.0, _rate)
    error_status: int = setting(503, _status)
    storm_rate: float = setting(0.0, _rate)
    storm_length: int = setting(5, _count)
    storm_status: int = setting(503, _status)
    storm_remaining: int = setting(0, _count)
    slow_rate: float = setting(0.0, _rate)
    slow_seconds: float = setting(0.5, _seconds)
    drop_rate: float = setting(0.0, _rate)
    record_error_rate: float = setting(0.0, _rate)
    locked_ids: dict[str, int] = field(default_factory=dict, metadata={"check": _holds})
    token_expired: bool = setting(default=False, check=_flag)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check(self.settings())
        self._rng.seed(self.seed)

    @classmethod
    def keys(cls) -> list[str]:
        """The settings this emulator's faults take, in declaration order."""
        return [item.name for item in fields(cls) if not item.name.startswith("_")]

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change some settings and return them all; an unknown key or a bad value raises ValueError and changes
        nothing. ``seed`` re-seeds the generator."""
        self._check(changes)
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, dict(value) if isinstance(value, dict) else value)
            if "seed" in changes:
                self._rng.seed(self.seed)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        """The current settings as JSON-ready values."""
        with self._lock:
            return {key: _copy(getattr(self, key)) for key in self.keys()}

    def _check(self, changes: dict[str, Any]) -> None:
        checks = {item.name: item.metadata["check"] for item in fields(self) if "check" in item.metadata}
        unknown = sorted(set(changes) - set(checks))
        if unknown:
            raise ValueError(f"unknown fault settings: {unknown} (known: {', '.join(self.keys())})")
        for key, value in changes.items():
            wanted = checks[key](value)
            if wanted is not None:
                raise ValueError(f"fault setting {key} must be {wanted}, not {value!r}")

    def roll(self, rate: float) -> bool:
        """True with probability ``rate`` (no draw at all when it is 0)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    # -- one request ------------------------------------------------------------------------------------
    def delay(self) -> float:
        """Seconds to hold back this response."""
        return self.slow_seconds if self.roll(self.slow_rate) else 0.0

    def drop(self) -> bool:
        """Whether to cut this connection before the response is complete."""
        return self.roll(self.drop_rate)

    def request_error(self) -> int | None:
        """The HTTP status to fail this request with (the current storm, a new storm, the random rate), or None."""
        with self._lock:
            if self.storm_remaining > 0:
                self.storm_remaining -= 1
                return self.storm_status
        if self.roll(self.storm_rate):
            with self._lock:
                self.storm_remaining = max(self.storm_length - 1, 0)
            return self.storm_status
        return self.error_status if self.roll(self.error_rate) else None

    # -- one record of a write --------------------------------------------------------------------------
    def record_locked(self, record_id: str | None) -> bool:
        """Whether ``locked_ids`` holds this record (spending one of its failed writes)."""
        if record_id is None:
            return False
        with self._lock:
            remaining = self.locked_ids.get(record_id, 0)
            if remaining > 0:
                self.locked_ids[record_id] = remaining - 1
            return remaining > 0

    def record_fails(self, record_id: str | None = None) -> bool:
        """Whether this record of a write fails: a held lock first, then the random rate."""
        return self.record_locked(record_id) or self.roll(self.record_error_rate)


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value
