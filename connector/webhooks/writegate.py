"""One store transaction at a time in this process, handed over first come, first served (SQLite only).

SQLite has a single writer. When two threads of ``serve`` write at once, the loser waits in SQLite's busy
handler, which sleeps in growing steps (up to 100 ms) and can lose the race again and again to a worker that
commits and begins anew: acknowledgements then stall behind the worker's audit writes. The gate makes every
transaction on the engine (reads included, which are short) queue in arrival order on a Python condition, so a
waiting webhook commits as soon as the transaction before it ends. Other processes still meet SQLite's own
locking, as before.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["FairGate", "gate_transactions"]


class FairGate:
    """A reentrant lock granted in request order."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting: deque[int] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                self._depth += 1
                return
            self._waiting.append(me)
            while self._owner is not None or self._waiting[0] != me:
                self._condition.wait()
            self._waiting.popleft()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._condition:
            if self._owner != threading.get_ident():
                return
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._condition.notify_all()

    def release_all(self) -> None:
        """Give the gate up entirely if this thread holds it (a connection returned without commit or rollback)."""
        with self._condition:
            if self._owner == threading.get_ident():
                self._owner, self._depth = None, 0
                self._condition.notify_all()


def gate_transactions(engine: Engine) -> FairGate | None:
    """Put the engine's transactions behind one FairGate when it is SQLite; None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    gate = FairGate()

    def enter(connection: Any) -> None:
        gate.acquire()

    def leave(connection: Any) -> None:
        gate.release()

    event.listen(engine, "begin", enter)
    event.listen(engine, "commit", leave)
    event.listen(engine, "rollback", leave)
    event.listen(
        engine, "checkin", lambda *_: gate.release_all()
    )  # an invalidated connection emits no rollback
    return gate
