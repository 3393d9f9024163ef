"""The job queue's tables (procrastinate's schema) in a PostgreSQL store, created once by the first worker.

procrastinate owns these tables and their SQL; the store only makes sure they exist before a worker starts,
with an advisory lock so that workers starting together create them once.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

__all__ = ["install_job_queue"]


def install_job_queue(engine: Engine, schema_sql: str) -> bool:
    """Run ``schema_sql`` unless the queue's tables exist already; True when it created them."""
    if engine.dialect.name != "postgresql":
        raise ValueError("the job queue lives in a PostgreSQL store")
    with engine.begin() as db:
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext('lawful_crm.job_queue'))"))
        if db.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        driver = db.connection.driver_connection
        assert driver is not None
        driver.execute(schema_sql)  # no parameters: the script's percent signs stay as they are
    return True
