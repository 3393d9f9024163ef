"""``lawful-crm worker``: run drain, sync and periodic jobs from the PostgreSQL store's job queue.

Start as many as needed, on as many machines: they share the store's event queue, sync leases and the
HubSpot call limit. ``serve`` keeps receiving webhooks (with ``[webhooks] run_worker = false`` it leaves the
draining to these workers). SIGTERM or Ctrl-C lets running jobs finish, then stops.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from prometheus_client import start_http_server

from connector import bootstrap
from connector.commands.common import configure_logging, fail_configuration, settings_or_exit
from connector.errors import ConfigurationError
from connector.jobs.runtime import Runtime
from connector.jobs.tasks import JobSettings, conninfo, install_schema, job_app
from connector.mapping.schema import MappingFile
from connector.webhooks.metrics import check_multiproc_dir
from connector.webhooks.schedule import validate_schedule

__all__ = ["work"]

log = logging.getLogger("lawful_crm.worker")


def _runtime(config: Path | None, store_url: str | None, as_of: date | None) -> Runtime:
    settings = settings_or_exit(config)
    conninfo(store_url or settings.store.url)  # refuses an SQLite store before opening it
    validate_schedule(settings.sync.schedule, settings.sync.time_zone)
    check_multiproc_dir()
    names = bootstrap.configured_crms(settings, "all")
    mappings: dict[str, MappingFile] = {name: bootstrap.mapping_for(settings, name) for name in names}
    store = bootstrap.store_for(settings, store_url)
    bootstrap.screening_for(store, settings)  # no start without the store's do-not-call key
    return Runtime(settings, mappings, store, as_of=as_of)


def work(
    *,
    config: Path | None,
    store_url: str | None,
    concurrency: int,
    shards: int,
    stalled_after_s: float,
    sync_shards: int = 1,
    metrics_port: int | None = None,
    as_of: date | None = None,
) -> None:
    """Run jobs until SIGTERM or SIGINT."""
    configure_logging()
    try:
        runtime = _runtime(config, store_url, as_of)
        url = str(runtime.store.engine.url.render_as_string(hide_password=False))
        settings = JobSettings(
            shards=shards,
            nightly=runtime.settings.sync.schedule,
            time_zone=runtime.settings.sync.time_zone,
            stalled_after_s=stalled_after_s,
            sync_shards=sync_shards,
        )
        app = job_app(url, runtime=runtime, settings=settings)
    except ConfigurationError as error:
        fail_configuration(error)
    if install_schema(app, runtime.store):
        log.info("created the job queue's tables in the store")
    if metrics_port is not None:
        server, _ = start_http_server(metrics_port, addr="127.0.0.1", registry=runtime.metrics.scrape())
        log.info("metrics on http://127.0.0.1:%s/metrics", server.server_port)
    log.info("worker started: %s job(s) at once, %s drain shard(s) per CRM", concurrency, shards)
    app.run_worker(
        concurrency=concurrency,
        delete_jobs="successful",
        update_heartbeat_interval=min(10.0, stalled_after_s / 3),
        stalled_worker_timeout=stalled_after_s,
    )
    log.info("worker stopped")
