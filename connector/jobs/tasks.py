"""The jobs: drain one shard of one CRM's webhook events, sync one CRM, and the periodic ones that defer them.

* ``drain(crm, shard, shards)`` claims that shard's due events from the store's queue and settles them through
  the pipeline until none is due. Deferred with ``queueing_lock`` ``drain:<crm>:<shard>`` (a burst of
  deliveries waits as one job) and run under ``lock`` of the same name (one worker at a time per shard; all
  events of one record fall in one shard). Retries, backoff and dead letters stay in the events table, so
  ``queue show|retry`` keep working; a worker killed mid-drain leaves its claimed events to the next drain
  once their lease ends.
* ``sweep`` (every few seconds, fired once across workers) defers a drain for every shard with due events:
  new deliveries, retries whose backoff has passed, and anything a killed process left.
* ``nightly_clock`` ticks in UTC (procrastinate reads every cron in UTC) on a superset of the ``[sync] schedule``
  and, at the ticks where the schedule fires in ``[sync] time_zone``, defers ``nightly`` (once across workers).
* ``nightly`` defers one ``sync(crm)`` per CRM, run under
  ``lock`` ``sync:<crm>`` and the store's sync lease; or, with ``sync_shards`` above 1, lists each object's ids
  once and defers one ``sync_shard(crm, object, shard, ids)`` per contiguous range of them (a full sync that
  several workers share, each shard under its own lock and cursor, see ``shards``).
* ``recover`` returns jobs of dead workers (no heartbeat) to the queue, or fails those a newer job replaces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate import exceptions as job_errors
from sqlalchemy.engine import make_url

from connector.errors import ConfigurationError
from connector.jobs.intake import DRAIN, DRAIN_SHARDS
from connector.jobs.runtime import Runtime
from connector.jobs.shards import ShardRun, split
from connector.store import Store
from connector.store.jobqueue import install_job_queue
from connector.store.queue import Shard
from connector.webhooks.schedule import fires_at, utc_superset

__all__ = [
    "DRAIN",
    "NIGHTLY",
    "NIGHTLY_CLOCK",
    "SYNC",
    "SYNC_SHARD",
    "JobSettings",
    "conninfo",
    "defer_drain",
    "install_schema",
    "job_app",
]

log = logging.getLogger("lawful_crm.jobs")

SYNC = "lawful_crm.sync"
SYNC_SHARD = "lawful_crm.sync_shard"
SWEEP = "lawful_crm.sweep"
NIGHTLY = "lawful_crm.nightly"
NIGHTLY_CLOCK = "lawful_crm.nightly_clock"
RECOVER = "lawful_crm.recover"


@dataclass(frozen=True, slots=True)
class JobSettings:
    shards: int = DRAIN_SHARDS
    """Drain shards per CRM: at most this many workers drain one CRM's events at once."""
    sweep_every_s: int = 2
    """How often due events are looked for (seconds, 1 to 59)."""
    nightly: str = "0 2 * * *"
    """Cron expression of the nightly sync, in ``time_zone``."""
    time_zone: str = "UTC"
    """The IANA time zone the nightly cron is read in (``[sync] time_zone``)."""
    stalled_after_s: float = 30.0
    """A job whose worker sent no heartbeat for this long is returned to the queue."""
    sync_shards: int = 1
    """Shards of the nightly sync: 1 runs the ordinary (incremental) sync, more a full sync split in shards."""


def conninfo(store_url: str) -> str:
    """The libpq connection string of a PostgreSQL store URL (``postgresql+psycopg://…`` → ``postgresql://…``)."""
    url = make_url(store_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(
            "workers need a PostgreSQL store",
            problems=("set [store] url to a postgresql+psycopg:// URL; with SQLite, serve runs the worker",),
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def job_app(
    store_url: str,
    *,
    runtime: Runtime | None = None,
    settings: JobSettings = JobSettings(),
    connector: Any = None,
) -> Any:
    """The procrastinate App on the store's database (or on ``connector``: procrastinate's in-memory one in
    tests). Without ``runtime`` it can only defer jobs."""
    connector = connector or procrastinate.PsycopgConnector(conninfo=conninfo(store_url))
    app = procrastinate.App(connector=connector)

    def needs_runtime() -> Runtime:
        if runtime is None:
            raise ConfigurationError("this process defers jobs; lawful-crm worker runs them")
        return runtime

    @app.task(name=DRAIN, pass_context=False)
    def drain(crm: str, shard: int, shards: int) -> int:
        """Settle this shard's due events until none is due; return how many were handled."""
        running = needs_runtime()
        worker, store = running.worker(), running.store
        options, handled = worker.options, 0
        while True:
            claimed = store.queue.claim(
                now=datetime.now(UTC), limit=options.batch, lease=options.lease, crm=crm,
                shard=Shard(shard, shards), owner=running.owner,
            )  # fmt: skip
            if not claimed:
                return handled
            report = worker.process(crm, claimed)
            worker.report(report)
            handled += len(claimed)
            log.info(
                "%s shard %s/%s: %s event(s), %s written, %s retried, %s dead",
                crm, shard, shards, report.events, report.tally.written, report.retried, report.dead,
            )  # fmt: skip

    @app.task(name=SYNC)
    def sync(crm: str) -> str:
        result = needs_runtime().sync(crm)
        outcome = "skipped: another process syncs it" if result is None else str(result.outcome.value)
        log.info("%s: nightly sync %s", crm, outcome)
        return outcome

    @app.periodic(cron=f"* * * * * */{settings.sweep_every_s}")  # seconds are the sixth column
    @app.task(name=SWEEP, queueing_lock=SWEEP)
    def sweep(timestamp: int) -> int:
        """Defer a drain for every shard that has due events; return how many were deferred."""
        store = needs_runtime().store
        due = store.queue.due_shards(now=datetime.now(UTC), shards=settings.shards)
        deferred = sum(defer_drain(app, crm, part) for crm, part in due)
        log.info("sweep of %s: %s drain(s) deferred", timestamp, deferred)
        return deferred

    @app.task(name=SYNC_SHARD)
    def sync_shard(
        crm: str, object_type: str, shard: int, shards: int, started: int, ids: list[str] | None = None
    ) -> str:
        run = ShardRun(crm, object_type, shard, shards, datetime.fromtimestamp(started, UTC))
        outcome, tally = needs_runtime().sync_shard(run, ids)
        log.info(
            "%s %s shard %s/%s: %s, %s read, %s written",
            crm, object_type, shard, shards, outcome, tally.read, tally.written,
        )  # fmt: skip
        return outcome

    @app.periodic(cron=utc_superset(settings.nightly, settings.time_zone))
    @app.task(name=NIGHTLY_CLOCK, queueing_lock=NIGHTLY_CLOCK)
    def nightly_clock(timestamp: int) -> int:
        """Defer the nightly sync when its schedule fires at this tick in its time zone; return 1 if it did."""
        if not fires_at(settings.nightly, settings.time_zone, datetime.fromtimestamp(timestamp, UTC)):
            return 0
        return _defer(app, NIGHTLY, NIGHTLY, timestamp=timestamp)

    @app.task(name=NIGHTLY, queueing_lock=NIGHTLY)
    def nightly(timestamp: int) -> int:
        """Defer the nightly sync of every configured CRM (in shards when configured); return the jobs."""
        running = needs_runtime()
        deferred = 0
        for crm in running.mappings:
            if settings.sync_shards <= 1:
                deferred += _defer(app, SYNC, f"sync:{crm}", crm=crm)
                continue
            for object_type in running.object_types(crm):
                parts = split(running.live_ids(crm, object_type), settings.sync_shards)  # listed once
                for shard, ids in enumerate(parts):
                    lock = f"sync:{crm}:{object_type}:{shard}/{len(parts)}"
                    deferred += _defer(
                        app, SYNC_SHARD, lock, crm=crm, object_type=object_type, shard=shard,
                        shards=len(parts), started=timestamp, ids=ids,
                    )  # fmt: skip
        log.info("nightly sync of %s: %s job(s) deferred", timestamp, deferred)
        return deferred

    @app.periodic(cron="* * * * * */5")
    @app.task(name=RECOVER, queueing_lock=RECOVER)
    async def recover(timestamp: int) -> int:
        """Put the jobs of workers that stopped sending heartbeats back in the queue."""
        manager = app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.stalled_after_s))
        recovered = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
                recovered += 1
            except job_errors.ConnectorException:  # a newer job waits under its queueing lock: this one ends
                assert job.id is not None
                await manager.finish_job_by_id_async(
                    job.id, status=procrastinate.jobs.Status.FAILED, delete_job=False
                )
        if stalled:
            log.info(
                "%s job(s) of stopped workers run again, %s replaced by newer ones",
                recovered,
                len(stalled) - recovered,
            )
        return recovered

    return app


def install_schema(app: Any, store: Store) -> bool:
    """Create the job queue's tables in the store's schema unless they exist; True when created."""
    return install_job_queue(store.engine, app.schema_manager.get_schema())


def _defer(app: Any, task: str, lock: str, **arguments: Any) -> int:
    """Defer ``task`` under ``lock`` (queueing and running); 0 when such a job already waits."""
    try:
        app.configure_task(task, queueing_lock=lock, lock=lock).defer(**arguments)
    except job_errors.AlreadyEnqueued:
        return 0
    return 1


def defer_drain(app: Any, crm: str, shard: Shard) -> bool:
    """Defer a drain of one shard; False when one is already waiting (it will see the new events too)."""
    lock = f"drain:{crm}:{shard.index}"
    return bool(_defer(app, DRAIN, lock, crm=crm, shard=shard.index, shards=shard.count))
