"""Drains deferred by ``serve`` as it stores webhook events, in the same transaction as the events.

With a PostgreSQL store and the workers draining (``[webhooks] run_worker = false``), every group commit of
the receiver also defers a drain of each (CRM, shard) it stored events for: the events and the job that will
settle them are committed together, so an acknowledged event always has a drain coming. A drain already
waiting for that shard takes the new events too (its queueing lock), and the workers' sweep stays as the
safety net for retries whose backoff has passed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, String, column, select, values

from connector.store import Store
from connector.store.jobqueue import defer_job, supports_job_queue
from connector.store.queue import OnQueued, record_shard

__all__ = ["DRAIN", "DRAIN_SHARDS", "drain_on_receipt", "drains_deferred_on_receipt"]

DRAIN = "lawful_crm.drain"
DRAIN_SHARDS = 4
"""Drain shards per CRM unless ``lawful-crm worker --shards`` says otherwise."""


def drains_deferred_on_receipt(store: Store, *, shards: int) -> bool:
    """Make ``store``'s queue defer drains as it stores events, when workers share it (PostgreSQL); creates
    the job queue's tables first if no worker has yet. False (nothing changed) on a store workers cannot share."""
    if not supports_job_queue(store.engine):
        return False
    from connector.jobs.tasks import install_schema, job_app  # procrastinate: the postgres extra

    install_schema(job_app(store.engine.url.render_as_string(hide_password=False)), store)
    store.queue.on_queued(drain_on_receipt(shards))
    return True


def drain_on_receipt(shards: int) -> OnQueued:
    """The enqueue hook that defers one drain per (CRM, shard) of the events just stored."""

    def defer(db: Connection, stored: Sequence[tuple[str, str]]) -> None:
        by_crm: dict[str, set[str]] = {}
        for crm, record_id in stored:
            by_crm.setdefault(crm, set()).add(record_id)
        for crm, record_ids in sorted(by_crm.items()):
            for shard in sorted(_shards_of(db, record_ids, shards)):
                lock = f"drain:{crm}:{shard}"
                defer_job(db, DRAIN, lock, {"crm": crm, "shard": shard, "shards": shards})

    return defer


def _shards_of(db: Connection, record_ids: set[str], shards: int) -> set[int]:
    """The shards the records fall in, as the drains' claims compute them (one query)."""
    if shards <= 1:
        return {0}
    ids = values(column("record_id", String), name="stored").data([(i,) for i in sorted(record_ids)])
    query = select(record_shard(ids.c.record_id, shards)).distinct()
    found: list[int] = list(db.execute(query).scalars())
    return set(found)
