"""``lawful-crm serve``: the webhook receiver, the queue worker and the nightly schedule in one process.

uvicorn serves the receiver on the main thread; the worker and the scheduler run in their own threads and share
the store (their state lives there, so a restart loses nothing) and the metrics. When ``lawful-crm worker``
processes drain (``run_worker = false`` on PostgreSQL) they also own the nightly sync: the schedule here then
only keeps house (retention, settled events). SIGTERM or SIGINT stops
accepting deliveries, lets requests in flight finish, then stops the worker after its batch and the scheduler
(a sync still running gives up its lease; the next run resumes from its checkpoint).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

import typer
import uvicorn
from prometheus_client import start_http_server

from connector import bootstrap
from connector.admin.alerts import alert_after_run
from connector.admin.overview import health_facts, overview_source
from connector.admin.page import AdminAccess, admin_routes
from connector.commands.common import EXIT, configure_logging, fail_configuration, settings_or_exit
from connector.errors import ConfigurationError
from connector.jobs.intake import DRAIN_SHARDS, drains_deferred_on_receipt
from connector.mapping.schema import MappingFile
from connector.settings import MetricsConfig
from connector.store import Store
from connector.sync.run import SyncOptions, SyncResult
from connector.webhooks.app import create_app
from connector.webhooks.config import ReceiverConfig
from connector.webhooks.metrics import Metrics, StoreGauges, check_multiproc_dir
from connector.webhooks.schedule import Scheduler, next_run, validate_schedule
from connector.webhooks.server import ServerLimits, server_config
from connector.webhooks.worker import Worker, WorkerOptions
from connector.webhooks.writegate import gate_transactions

__all__ = ["serve"]

log = logging.getLogger("lawful_crm.serve")

WORKER_STOP_TIMEOUT_S = 30.0
GIL_SWITCH_INTERVAL_S = 0.0005
"""How long a busy thread (the worker deciding a batch) may keep the interpreter before the receiver gets a
turn: a tenth of CPython's default, so acknowledgements do not queue behind the worker's CPU work."""


@dataclass
class _Process:
    """Everything one ``serve`` process runs: the App wired from the settings, and the threads around it."""

    app: bootstrap.App
    mappings: Mapping[str, MappingFile]
    metrics: Metrics = field(default_factory=Metrics)
    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    threads: dict[str, threading.Thread] = field(default_factory=dict)
    worker_ready: threading.Event | None = None
    as_of: date | None = None
    """Decide as of this day instead of today (tests): the scheduled sync and the worker."""
    workers_sync: bool = False
    """``lawful-crm worker`` processes own the nightly sync (their periodic task): the schedule here only
    keeps house, so the sync never runs twice."""

    @property
    def settings(self) -> bootstrap.Settings:
        return self.app.settings

    @property
    def store(self) -> Store:
        return self.app.store

    def sync_one(self, crm: str) -> SyncResult:
        """The scheduled incremental sync of ``crm``, under its lease (``App.sync``); then its alerts."""
        try:
            return self.app.sync(crm, SyncOptions(as_of=self.as_of))
        finally:
            alert_after_run(self.settings.alerts, self.store, crm, today=datetime.now(UTC).date())

    def worker(self) -> Worker:
        hooks = self.settings.webhooks
        options = WorkerOptions(
            batch=hooks.worker_batch,
            max_attempts=hooks.max_attempts,
            lease=timedelta(seconds=hooks.lease_s),
            poll_s=hooks.poll_s,
            as_of=self.as_of,
            owner=self.app.owner,
        )
        return Worker(self.store, self.app.pipeline, self.metrics, options)

    def scheduler(self) -> Scheduler:
        sync = self.settings.sync
        crms = [] if self.workers_sync else list(self.mappings)
        return Scheduler(
            self.store, crms, self.sync_one, self.metrics,
            schedule=sync.schedule, time_zone=sync.time_zone, retention_months=sync.retention_months,
        )  # fmt: skip

    def health(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for name, thread in self.threads.items():
            facts[name] = "running" if thread.is_alive() else "stopped"
        if not self.settings.webhooks.run_worker:
            facts["worker"] = "off"
        elif (
            facts.get("worker") == "running"
            and self.worker_ready is not None
            and not self.worker_ready.is_set()
        ):
            facts["worker"] = "starting"
        facts["ok"] = all(state != "stopped" for state in facts.values()) or self.stop.is_set()
        sync = self.settings.sync
        facts |= health_facts(
            self.store, schedule=sync.schedule, time_zone=sync.time_zone, now=datetime.now(UTC)
        )
        return facts


def _configure(config: Path | None, store_url: str | None, as_of: date | None = None) -> _Process:
    app = bootstrap.build(settings_or_exit(config), store_url=store_url, role="serve")
    try:
        mappings: dict[str, MappingFile] = {name: app.mapping(name) for name in app.crms("all")}
        validate_schedule(app.settings.sync.schedule, app.settings.sync.time_zone)
        check_multiproc_dir()
        app.screener()  # opens the store: no start without it, nor without its do-not-call key
    except ConfigurationError as error:
        fail_configuration(error)
    return _Process(app, mappings, as_of=as_of)


def _assign_work(process: _Process) -> None:
    """Who drains and who syncs: this process's worker thread, or (``run_worker = false`` on a store workers
    share) ``lawful-crm worker`` processes, which then own the nightly sync too."""
    if process.settings.webhooks.run_worker:
        worker = process.worker()
        process.worker_ready = worker.ready
        process.threads["worker"] = threading.Thread(
            target=worker.run,
            args=(process.stop, process.wake),
            kwargs={"prepare": list(process.mappings)},
            name="lawful-crm-worker",
            daemon=True,
        )
    elif drains_deferred_on_receipt(process.store, shards=DRAIN_SHARDS):
        log.info("events are drained by lawful-crm worker processes (a drain job deferred with each commit)")
        process.workers_sync = True


def _announce(server: uvicorn.Server, process: _Process, receiver: ReceiverConfig) -> None:
    """Log where the server listens (the bound port when 0 was asked) and what it accepts; no secret."""
    while not server.started and not process.stop.is_set():
        time.sleep(0.01)
    if not server.started:
        return
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    salesforce = receiver.salesforce
    log.info("listening on http://%s:%s", host, port)
    log.info(
        "accepting: hubspot %s, salesforce outbound messages %s, salesforce signed callouts %s; worker %s",
        "on" if receiver.hubspot else "off",
        "on" if salesforce and salesforce.path_secret and salesforce.org_id else "off",
        "on" if salesforce and salesforce.signing_secret else "off",
        "on" if process.settings.webhooks.run_worker else "off",
    )


def serve(
    *,
    host: str,
    port: int,
    config: Path | None,
    store_url: str | None,
    public_url: str | None,
    as_of: date | None = None,
) -> None:
    """Run until SIGTERM or SIGINT: receiver on ``host:port``, worker and schedule alongside."""
    configure_logging()
    process = _configure(config, store_url, as_of)
    gate_transactions(process.store.engine)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    receiver = ReceiverConfig.from_settings(process.settings, process.mappings, public_url=public_url)
    gauges = StoreGauges(process.store.queue, process.store.runs, crms=list(process.mappings))
    apart = process.settings.metrics
    app = create_app(
        receiver, process.store.queue, process.metrics, on_queued=process.wake.set, health=process.health,
        gauges=gauges, metrics_route=apart.port is None,
    )  # fmt: skip
    overview = overview_source(process.settings, process.store, list(process.mappings))
    app.router.routes.extend(admin_routes(overview, AdminAccess.from_settings(process.settings.admin)))
    limits = ServerLimits.from_settings(process.settings.webhooks)
    server = uvicorn.Server(server_config(app, host=host, port=port, limits=limits))
    _assign_work(process)
    scheduler = process.scheduler()
    process.threads["scheduler"] = threading.Thread(
        target=scheduler.run, args=(process.stop,), name="lawful-crm-scheduler", daemon=True
    )
    announcer = threading.Thread(target=_announce, args=(server, process, receiver), daemon=True)
    sync = process.settings.sync
    log.info("scheduled %s: %s in %s (next %s UTC)",
             "housekeeping (the syncs are run by lawful-crm worker processes)" if process.workers_sync else "syncs",
             sync.schedule, sync.time_zone,
             next_run(sync.schedule, sync.time_zone, datetime.now(UTC)).strftime("%Y-%m-%d %H:%M"))  # fmt: skip
    # uvicorn restores the handlers it found and re-raises the signal after its graceful shutdown: with these
    # in place that re-raise only sets the stop flag, and the threads are stopped below instead of killed.
    metrics_server = _metrics_apart(process, apart, gauges)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: process.stop.set())
    for thread in [*process.threads.values(), announcer]:
        thread.start()
    try:
        server.run()
    except SystemExit:  # uvicorn exits 3 when it cannot listen: a start-up error, not a stopped run
        print(f"serve: cannot listen on {host}:{port}: the address is in use or not allowed", file=sys.stderr)
        raise typer.Exit(code=EXIT["usage"]) from None
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        _shut_down(process)


def _metrics_apart(process: _Process, apart: MetricsConfig, gauges: StoreGauges) -> WSGIServer | None:
    """``/metrics`` on its internal port (``[metrics] port``), off the port the CRMs reach; None when unset."""
    if apart.port is None:
        return None
    try:
        server, _ = start_http_server(apart.port, addr=apart.host, registry=process.metrics.scrape(gauges))
    except OSError:
        print(f"serve: cannot listen on {apart.host}:{apart.port} for metrics", file=sys.stderr)
        process.app.close()
        raise typer.Exit(code=EXIT["usage"]) from None
    log.info("metrics on http://%s:%s/metrics", apart.host, server.server_port)
    return server


def _shut_down(process: _Process) -> None:
    log.info("stopping: finishing the worker's batch")
    process.stop.set()
    process.wake.set()
    worker = process.threads.get("worker")
    if worker is not None:
        worker.join(WORKER_STOP_TIMEOUT_S)
    process.threads["scheduler"].join(1.0)
    process.app.release_held()
    process.app.close()
    log.info("stopped")
