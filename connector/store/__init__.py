"""The connector's state: run log, cursors, the decision audit, the webhook queue and locks.

SQLAlchemy Core on any URL (SQLite in WAL mode by default, PostgreSQL where several workers share it);
Alembic migrations are applied when the store is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from connector.store.audit import (
    INTERRUPTED,
    Audit,
    AuditEntry,
    AuditRow,
    Grounds,
    PendingWrite,
    Refusal,
    WriteStatus,
)
from connector.store.due import DueRecord, DueRecords, DueTally, Upcoming
from connector.store.engine import create_store_engine, upgrade
from connector.store.locks import Locks
from connector.store.queue import ClaimedEvent, DeadLetter, EventQueue, NewEvent, QueueDepth
from connector.store.runs import Cursors, RunKind, RunLog, RunOutcome, RunRow

__all__ = ["Audit", "AuditEntry", "AuditRow", "Cursors", "Locks", "RunLog", "RunRow", "Store", "open_store"]
__all__ += ["ClaimedEvent", "DeadLetter", "EventQueue", "NewEvent", "QueueDepth"]
__all__ += ["DueRecord", "DueRecords", "DueTally", "Grounds", "Upcoming"]
__all__ += ["INTERRUPTED", "PendingWrite", "Refusal", "WriteStatus"]
__all__ += ["RunKind", "RunOutcome", "create_store_engine", "upgrade"]


@dataclass(frozen=True)
class Store:
    engine: Engine
    runs: RunLog
    cursors: Cursors
    audit: Audit
    locks: Locks
    queue: EventQueue
    due: DueRecords

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the store at ``url``, first applying any migration it lacks (unless ``migrate`` is False)."""
    engine = create_store_engine(url)
    if migrate:
        upgrade(engine)
    return Store(
        engine=engine,
        runs=RunLog(engine),
        cursors=Cursors(engine),
        audit=Audit(engine),
        locks=Locks(engine),
        queue=EventQueue(engine),
        due=DueRecords(engine),
    )


import connector.store.buckets  # noqa: E402 - declares the rate-limit buckets on the shared metadata
import connector.store.dnc_tables  # noqa: E402, F401 - declares the do-not-call tables on the shared metadata
