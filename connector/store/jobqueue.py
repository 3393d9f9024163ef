"""The job queue's tables (procrastinate's schema) in a PostgreSQL store, created once by the first worker.

procrastinate owns these tables and their SQL; the store only makes sure they exist before a worker starts,
with an advisory lock so that workers starting together create them once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

__all__ = ["defer_job", "install_job_queue", "supports_job_queue"]

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('default', :task, 0, :lock, :lock, CAST(:args AS jsonb), NULL)"
    "::procrastinate_job_to_defer_v1])"
)


def supports_job_queue(engine: Engine) -> bool:
    """Whether workers can share this store (PostgreSQL), rather than one process owning it (SQLite)."""
    return engine.dialect.name == "postgresql"


def install_job_queue(engine: Engine, schema_sql: str) -> bool:
    """Run ``schema_sql`` unless the queue's tables exist already; True when it created them."""
    if not supports_job_queue(engine):
        raise ValueError("the job queue lives in a PostgreSQL store")
    with engine.begin() as db:
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('lawful_crm.job_queue'))"))
        if db.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        driver = db.connection.driver_connection
        assert driver is not None
        driver.execute(schema_sql)  # no parameters: the script's percent signs stay as they are
    return True


def defer_job(db: Connection, task: str, lock: str, arguments: Mapping[str, Any]) -> bool:
    """Defer ``task`` in the caller's transaction (under ``lock`` as both queueing lock and lock), the way
    procrastinate defers a job; False when such a job already waits (the transaction goes on unharmed)."""
    try:
        with db.begin_nested():
            db.execute(_DEFER, {"task": task, "lock": lock, "args": json.dumps(dict(arguments))})
    except IntegrityError:  # a job under the same queueing lock is waiting: it will see these events too
        return False
    return True
