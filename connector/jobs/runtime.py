"""What the jobs of one worker process run on: settings, mappings, the store, and per thread a queue worker.

Each job runs in a thread of its own; pipelines (adapter, mapping, policy, screener) are built per thread and
kept, so concurrent jobs never share an SDK client. HubSpot calls take their tokens from one bucket per account
kept in the store (``SharedLimiter``): every process and thread calling that account shares its limit.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from connector import bootstrap
from connector.errors import SyncAlreadyRunning
from connector.jobs.shards import ShardRun, sync_shard
from connector.mapping.schema import MappingFile
from connector.store import Store
from connector.store.buckets import RateBuckets, SharedLimiter
from connector.sync.pipeline import PageTally, Pipeline
from connector.sync.run import SyncOptions, SyncResult
from connector.webhooks.metrics import Metrics
from connector.webhooks.schedule import count_sync
from connector.webhooks.worker import Worker, WorkerOptions

__all__ = ["Runtime"]


@dataclass
class Runtime:
    settings: bootstrap.Settings
    mappings: Mapping[str, MappingFile]
    store: Store
    as_of: date | None = None
    """Decide as of this day instead of today (tests)."""
    metrics: Metrics = field(default_factory=Metrics)
    """The process's counters, shared by its job threads (one set per process: see ``webhooks.metrics``)."""
    _local: threading.local = field(default_factory=threading.local)

    @cached_property
    def app(self) -> bootstrap.App:
        """The process's parts wired as every command wires them (``bootstrap``), on this store."""
        return bootstrap.build(self.settings, store=self.store, role="worker")

    @property
    def owner(self) -> str:
        return self.app.owner

    def _limiter(self, crm: str) -> SharedLimiter | None:
        return self.hubspot_limiter() if bootstrap.crm_name(crm) == "hubspot" else None

    def hubspot_limiter(self) -> SharedLimiter:
        """The HubSpot account's call limit, kept in the store and shared by every worker process."""
        config = self.settings.hubspot
        assert config is not None
        if config.portal_id is not None:
            account = str(config.portal_id)
        else:  # the same credentials reach the same account; only a hash of them names the bucket
            secret = config.access_token or config.refresh_token
            identity = config.base_url + (secret.get_secret_value() if secret is not None else "")
            account = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return SharedLimiter(
            RateBuckets(self.store.engine), f"hubspot:{account}", limit=config.per_ten_seconds, window_s=10.0
        )

    def pipeline(self, crm: str) -> Pipeline:
        """This thread's pipeline for ``crm`` (built on first use)."""
        pipelines: dict[str, Pipeline] = self._local.__dict__.setdefault("pipelines", {})
        if crm not in pipelines:
            pipelines[crm] = self.app.pipeline(crm, limiter=self._limiter(crm))
        return pipelines[crm]

    def worker(self) -> Worker:
        """This thread's queue worker: claims and settles events through the thread's pipelines."""
        worker: Worker | None = self._local.__dict__.get("worker")
        if worker is None:
            hooks = self.settings.webhooks
            options = WorkerOptions(
                batch=hooks.worker_batch,
                max_attempts=hooks.max_attempts,
                lease=timedelta(seconds=hooks.lease_s),
                as_of=self.as_of,
            )
            worker = Worker(self.store, self.pipeline, self.metrics, options)
            self._local.worker = worker
        return worker

    def sync(self, crm: str) -> SyncResult | None:
        """One ordinary sync of ``crm`` under the store's sync lease (None: another process holds it)."""
        try:
            result = self.app.sync(crm, SyncOptions(as_of=self.as_of), limiter=self._limiter(crm))
        except SyncAlreadyRunning:
            self.metrics.inc("lawful_crm_syncs_total", crm=crm, outcome="skipped")
            return None
        except Exception as error:
            self.metrics.inc("lawful_crm_syncs_total", crm=crm, outcome="failed")
            self.metrics.inc("lawful_crm_errors_total", crm=crm, code=type(error).__name__)
            raise
        count_sync(self.metrics, result)
        return result

    def live_ids(self, crm: str, object_type: str) -> list[str]:
        """Every live id of one object, listed once for the shards of a full sync."""
        lister = self.pipeline(crm).crm
        try:
            return [record_id for page in lister.live_ids(object_type) for record_id in page]
        finally:
            self.metrics.api_usage(crm, "sync", lister, lister.usage())

    def sync_shard(self, run: ShardRun, ids: Sequence[str] | None = None) -> tuple[str, PageTally]:
        """One shard of a sharded full sync (see ``shards``): its ``ids``, or those its index hashes to."""
        today = self.as_of or datetime.now(UTC).date()
        guard, pipeline = self.settings.sync.guard_share, self.pipeline(run.crm)
        try:
            outcome, tally = sync_shard(pipeline, self.store, run, today=today, guard_share=guard, ids=ids)
        finally:
            self.metrics.api_usage(run.crm, "sync", pipeline.crm, pipeline.crm.usage())
        crm, metrics = run.crm, self.metrics
        metrics.inc("lawful_crm_decisions_total", tally.read, crm=crm, trigger="sync")
        metrics.inc("lawful_crm_writes_total", tally.written, crm=crm, trigger="sync")
        metrics.inc("lawful_crm_write_failures_total", tally.failed, crm=crm, trigger="sync")
        return outcome, tally

    def object_types(self, crm: str) -> tuple[str, ...]:
        return tuple(self.pipeline(crm).crm.object_types)
