"""Rate limits kept in the store, so every worker process calling one CRM account shares one budget.

One token bucket per CRM account (``rate_buckets``): each call takes a token in one ``UPDATE … RETURNING``
that refills the bucket for the time passed and takes a token only when one is there. A bucket holding at
most ``burst`` tokens and refilled at ``rate`` per second lets through at most ``burst + rate × window`` calls
in any window, whatever the number of processes; ``SharedLimiter`` sizes both below the CRM's limit. A refusal
(HubSpot's 429 and its ``policyName``) holds the bucket for every process until the window has rolled, and the
server's remaining count lowers the tokens when someone else spends the same budget.

Times are seconds since the epoch as floats, so the refill is plain arithmetic on every database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Float, String, Table, func, insert, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from connector.store.tables import metadata

__all__ = ["BucketSize", "RateBuckets", "SharedLimiter", "rate_buckets"]

rate_buckets = Table(
    "rate_buckets",
    metadata,
    # ``<crm>:<account>``: one bucket per CRM account, shared by every process.
    Column("name", String(80), primary_key=True),
    Column("tokens", Float, nullable=False),
    # When the tokens were last counted, and no token before ``blocked_until`` (epoch seconds).
    Column("stamp", Float, nullable=False),
    Column("blocked_until", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class BucketSize:
    """``burst`` tokens at most, refilled at ``rate`` tokens per second."""

    burst: float
    rate: float

    @classmethod
    def within(cls, limit: int, window_s: float, *, headroom: float = 0.9) -> BucketSize:
        """A bucket that never lets more than ``headroom × limit`` calls through in any ``window_s``: a tenth
        of that as burst, the rest as refill over the window (latency between processes eats the margin)."""
        allowed = limit * headroom
        if allowed < 2:  # one call, then the next only after two windows: never two in one window
            return cls(burst=1.0, rate=1 / (2 * window_s))
        burst = max(allowed / 10, 1.0)
        return cls(burst=burst, rate=(allowed - burst) / window_s)


class RateBuckets:
    """The store's token buckets (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(self, name: str, size: BucketSize, *, now: float) -> float:
        """Take one token from bucket ``name``; 0.0 when taken, else the seconds to wait before trying again."""
        least = func.least if self._engine.dialect.name == "postgresql" else func.min
        greatest = func.greatest if self._engine.dialect.name == "postgresql" else func.max
        elapsed = greatest(literal(now, Float) - rate_buckets.c.stamp, 0.0)
        refilled = least(rate_buckets.c.tokens + elapsed * size.rate, size.burst)
        statement = (
            update(rate_buckets)
            .where(rate_buckets.c.name == name, refilled >= 1.0, rate_buckets.c.blocked_until <= now)
            .values(tokens=refilled - 1.0, stamp=greatest(rate_buckets.c.stamp, now))
            .returning(rate_buckets.c.tokens)
        )
        with self._engine.begin() as db:
            if self._engine.dialect.name == "postgresql":
                # a token count lost in a crash costs nothing: no need to wait for the disk on every call
                db.execute(text("SET LOCAL synchronous_commit TO OFF"))
            if db.execute(statement).first() is not None:
                return 0.0
            row = db.execute(
                select(rate_buckets.c.tokens, rate_buckets.c.stamp, rate_buckets.c.blocked_until).where(
                    rate_buckets.c.name == name
                )
            ).first()
        if row is None:
            self._create(name, size, now=now)
            return self.take(name, size, now=now)
        if row.blocked_until > now:
            return float(row.blocked_until - now)
        tokens = float(min(row.tokens + max(now - row.stamp, 0.0) * size.rate, size.burst))
        return max((1.0 - tokens) / size.rate, 0.001)

    def hold(self, name: str, *, until: float) -> None:
        """No token from ``name`` for anyone before ``until`` (after the CRM refused a call)."""
        greatest = func.greatest if self._engine.dialect.name == "postgresql" else func.max
        with self._engine.begin() as db:
            db.execute(
                update(rate_buckets)
                .where(rate_buckets.c.name == name)
                .values(blocked_until=greatest(rate_buckets.c.blocked_until, until))
            )

    def lower(self, name: str, *, tokens: float) -> None:
        """At most ``tokens`` left in ``name`` (the CRM says fewer calls remain than the bucket holds)."""
        with self._engine.begin() as db:
            db.execute(
                update(rate_buckets)
                .where(rate_buckets.c.name == name, rate_buckets.c.tokens > tokens)
                .values(tokens=tokens)
            )

    def _create(self, name: str, size: BucketSize, *, now: float) -> None:
        try:
            with self._engine.begin() as db:
                db.execute(
                    insert(rate_buckets).values(name=name, tokens=size.burst, stamp=now, blocked_until=0.0)
                )
        except IntegrityError:
            pass  # another process created it first


class SharedLimiter:
    """A call limiter over one store bucket, with the methods the HubSpot session calls on its limiter.

    ``acquire`` waits for a token; ``record`` has nothing to do (the token was spent when taken); ``pause``
    holds the bucket for every process; ``observe`` lowers the tokens to the server's remaining count.
    """

    def __init__(
        self,
        buckets: RateBuckets,
        name: str,
        *,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.buckets, self.name, self.window_s = buckets, name, window_s
        self.size = BucketSize.within(limit, window_s)
        self.clock, self.sleep = clock, sleep
        self.waited_s = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            wait = self.buckets.take(self.name, self.size, now=self.clock())
            if wait <= 0:
                return
            with self._lock:
                self.waited_s += wait
            self.sleep(wait)

    def record(self) -> None:
        """Nothing to count: the call's token was taken by ``acquire``."""

    def pause(self, seconds: float | None = None) -> None:
        self.buckets.hold(self.name, until=self.clock() + (seconds if seconds is not None else self.window_s))

    def observe(self, *, limit: int | None, remaining: int | None, window_ms: int | None) -> None:
        if remaining is not None and remaining < self.size.burst:
            self.buckets.lower(self.name, tokens=float(max(remaining - 1, 0)))
