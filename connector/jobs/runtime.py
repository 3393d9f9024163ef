"""What the jobs of one worker process run on: settings, mappings, the store, and per thread a queue worker.

Each job runs in a thread of its own; pipelines (adapter, mapping, policy, screener) are built per thread and
kept, so concurrent jobs never share an SDK client. HubSpot calls take their tokens from one bucket per account
kept in the store (``SharedLimiter``): every process and thread calling that account shares its limit.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connector import bootstrap
from connector.errors import SyncAlreadyRunning
from connector.jobs.shards import ShardRun, sync_shard
from connector.mapping.facts import CompiledMapping
from connector.mapping.schema import MappingFile
from connector.store import Store
from connector.store.buckets import RateBuckets, SharedLimiter
from connector.sync.lease import sync_lease
from connector.sync.pipeline import PageTally, Pipeline
from connector.sync.run import SyncOptions, SyncResult, run_sync
from connector.webhooks.metrics import Metrics
from connector.webhooks.worker import Worker, WorkerOptions

__all__ = ["Runtime"]


@dataclass
class Runtime:
    settings: bootstrap.Settings
    mappings: Mapping[str, MappingFile]
    store: Store
    as_of: date | None = None
    """Decide as of this day instead of today (tests)."""
    _local: threading.local = field(default_factory=threading.local)

    @property
    def owner(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}:worker"

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
            name = bootstrap.crm_name(crm)
            mapping = self.mappings[crm]
            limiter = self.hubspot_limiter() if name == "hubspot" else None
            adapter = bootstrap.build_crm(self.settings, name, mapping, limiter=limiter)
            pipelines[crm] = Pipeline(
                adapter,
                CompiledMapping(mapping),
                self.settings.policy.to_policy(),
                self.store,
                bootstrap.screening_for(self.store, self.settings),
            )
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
            worker = Worker(self.store, self.pipeline, Metrics(), options)
            self._local.worker = worker
        return worker

    def sync(self, crm: str) -> SyncResult | None:
        """One ordinary sync of ``crm`` under the store's sync lease (None: another process holds it)."""
        try:
            with sync_lease(self.store, crm, self.owner, now=datetime.now(UTC)):
                options = SyncOptions(guard_share=self.settings.sync.guard_share, as_of=self.as_of)
                pipeline = self.pipeline(crm)
                return run_sync(
                    pipeline.crm,
                    CompiledMapping(self.mappings[crm]),
                    self.settings.policy.to_policy(),
                    self.store,
                    options,
                    screener=bootstrap.screening_for(self.store, self.settings),
                )
        except SyncAlreadyRunning:
            return None

    def sync_shard(self, run: ShardRun) -> tuple[str, PageTally]:
        """One shard of a sharded full sync (see ``shards``)."""
        today = self.as_of or datetime.now(UTC).date()
        guard = self.settings.sync.guard_share
        return sync_shard(self.pipeline(run.crm), self.store, run, today=today, guard_share=guard)

    def object_types(self, crm: str) -> tuple[str, ...]:
        return tuple(self.pipeline(crm).crm.object_types)
