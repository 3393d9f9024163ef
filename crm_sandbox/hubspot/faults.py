"""Seeded fault injection: 429 storms, 5xx, slow responses, dropped connections, expired tokens and
failing batch inputs.

Every decision draws from one ``random.Random(seed)``, so a run with the same seed and request order sees the
same faults. Rates are probabilities per request (per batch input for ``batch_input_failure_rate``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class FaultSettings:
    """What to inject. All off by default."""

    rate_429: float = 0.0
    storm_length: int = 5
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 1.0
    rate_drop: float = 0.0
    token_expired: bool = False
    batch_input_failure_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one request: ``kind`` None, ``"429"``, ``"5xx"`` or ``"drop"``; ``delay`` in seconds."""

    kind: str | None = None
    delay: float = 0.0
    status: int = 0


@dataclass
class FaultInjector:
    """Draws seeded fault decisions; settings can change at run time."""

    seed: int = 0
    settings: FaultSettings = field(default_factory=FaultSettings)
    _rng: random.Random = field(init=False)
    _storm_left: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def configure(self, **values: Any) -> FaultSettings:
        """Set some fault settings (unknown names raise ValueError) and return the result."""
        names = {f.name for f in fields(FaultSettings)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            current = asdict(self.settings)
            current.update(values)
            self.settings = FaultSettings(**current)
            if not self.settings.rate_429:
                self._storm_left = 0
        return self.settings

    def decide(self) -> Fault:
        """The fault for the next API request."""
        s = self.settings
        with self._lock:
            delay = s.slow_seconds if s.rate_slow and self._rng.random() < s.rate_slow else 0.0
            if self._storm_left > 0:
                self._storm_left -= 1
                return Fault("429", delay)
            if s.rate_429 and self._rng.random() < s.rate_429:
                self._storm_left = max(s.storm_length - 1, 0)
                return Fault("429", delay)
            if s.rate_drop and self._rng.random() < s.rate_drop:
                return Fault("drop", delay)
            if s.rate_5xx and self._rng.random() < s.rate_5xx:
                return Fault("5xx", delay, self._rng.choice((500, 502, 503, 504)))
        return Fault(None, delay)

    def input_fails(self) -> bool:
        """Whether one batch input should fail this time."""
        rate = self.settings.batch_input_failure_rate
        if not rate:
            return False
        with self._lock:
            return self._rng.random() < rate
