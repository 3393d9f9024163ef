"""The worker: drains the queue in batches through the same pipeline as the sync (read → decide → write → audit).

Each cycle claims due events, groups them by CRM and object type, forgets the people whose records were
deleted, reads the others' current state (at most 100 HubSpot or 200 Salesforce ids per read), decides and
writes their flags as one run of kind ``webhook``, and settles the events. A record that is not found any more
is forgotten. When a batch fails (CRM unreachable, rate-limited, credentials refused) its events are retried
after a growing delay; an event that keeps failing, or whose record keeps being refused by the CRM, moves to
the dead letters after ``max_attempts``. Reading the current record makes redelivered and out-of-order events
harmless: a record is decided on what the CRM holds now, and a flag is written only when it would change.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connector.errors import ConnectorError
from connector.mapping.consent_records import PARTY_OBJECT
from connector.store import RunKind, RunOutcome, Store, WriteStatus
from connector.store.locks import owner_gone
from connector.store.queue import ClaimedEvent
from connector.sync.pipeline import Decided, PageTally, Pipeline
from connector.webhooks.metrics import Metrics

__all__ = ["READ_LIMITS", "BatchReport", "PipelineFactory", "Worker", "WorkerOptions"]

log = logging.getLogger("lawful_crm.worker")

READ_LIMITS = {"hubspot": 100, "salesforce": 200}
"""Ids per read: HubSpot's batch read takes 100, a Salesforce SOQL ``Id IN (…)`` is kept to 200."""
_DELETIONS = ("delete", "privacy_delete")

PipelineFactory = Callable[[str], Pipeline]
"""Builds the pipeline of one CRM (adapter, mapping, policy, store); called once per CRM, lazily."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    batch: int = 500
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=5)
    poll_s: float = 1.0
    as_of: date | None = None
    """Decide as of this day instead of today (tests)."""
    owner: str | None = None
    """``host:pid:role`` of this worker, kept with its claims: a worker starting on this host frees the claims
    of one that was killed at once, instead of after their lease."""


@dataclass(slots=True)
class BatchReport:
    """What one CRM's share of a cycle did."""

    crm: str
    events: int
    tally: PageTally = field(default_factory=PageTally)
    forgotten: int = 0
    settled: int = 0
    retried: int = 0
    dead: int = 0
    error: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class Worker:
    def __init__(
        self,
        store: Store,
        pipelines: PipelineFactory,
        metrics: Metrics,
        options: WorkerOptions = WorkerOptions(),
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store, self.metrics, self.options, self.clock = store, metrics, options, clock
        self._factory = pipelines
        self._pipelines: dict[str, Pipeline] = {}
        self.ready = threading.Event()
        """Set once the prepared pipelines are built and the worker drains the queue."""

    def run(self, stop: threading.Event, wake: threading.Event, *, prepare: Sequence[str] = ()) -> None:
        """Drain until ``stop``; sleep until ``wake`` (new events) or the poll interval (due retries).

        The pipelines of the ``prepare`` CRMs are built first, so the first event does not wait for the vendor
        SDK to load; one that cannot be built yet is tried again when its first event comes.
        """
        released = self.store.queue.release_abandoned(now=self.clock(), gone=owner_gone)
        if released:
            log.info("%d events claimed by a worker that is gone are due again", released)
        for crm in prepare:
            try:
                self._pipeline(crm)
            except Exception as error:
                log.warning("%s: the CRM adapter could not be prepared yet: %s", crm, type(error).__name__)
        self.ready.set()
        while not stop.is_set():
            try:
                handled = self.drain_once()
            except Exception as error:  # the store itself failed: wait, then try again
                log.error("worker cycle failed: %s", type(error).__name__)
                self.metrics.inc("lawful_crm_errors_total", crm="all", code=type(error).__name__)
                handled = 0
            if not handled:
                wake.wait(self.options.poll_s)
                wake.clear()

    def drain_once(self) -> int:
        """Claim one batch of due events and settle it; return how many events were claimed."""
        claimed = self.store.queue.claim(
            now=self.clock(), limit=self.options.batch, lease=self.options.lease, owner=self.options.owner
        )
        by_crm: dict[str, list[ClaimedEvent]] = defaultdict(list)
        for event in claimed:
            by_crm[event.crm].append(event)
        for crm, events in by_crm.items():
            self.report(self.process(crm, events))
        return len(claimed)

    def process(self, crm: str, events: Sequence[ClaimedEvent]) -> BatchReport:
        """Settle one CRM's claimed events: forget, read, decide, write, audit; retry them all if that fails."""
        report = BatchReport(crm, len(events))
        now = self.clock()
        try:
            pipeline = self._pipeline(crm)
        except Exception as error:
            return self._fail(report, events, type(error).__name__, now)
        run_id = self.store.runs.start(crm, RunKind.WEBHOOK, policy_id=pipeline.policy.policy_id, now=now)
        try:
            refused = self._decide_and_write(crm, pipeline, events, run_id, report, now)
        except Exception as error:
            report.error = type(error).__name__
            if not isinstance(error, ConnectorError):
                log.error(
                    "webhook run %s of %s failed unexpectedly: %s at %s",
                    run_id,
                    crm,
                    report.error,
                    _where(error),
                )
            self.store.runs.finish(
                run_id, outcome=RunOutcome.FAILED, counts=self._counts(report), now=self.clock()
            )
            return self._fail(report, events, report.error, now)
        ok = [e for e in events if e.record_id not in refused]
        self.store.queue.done([e.id for e in ok])
        settled_at = self.clock()
        self.metrics.settled(crm, (settled_at - e.received_at for e in ok))
        report.settled = len(ok)
        failing = [e for e in events if e.record_id in refused]
        if failing:
            self._fail(report, failing, _main_error(report.tally), now)
        self.store.runs.finish(
            run_id, outcome=RunOutcome.COMPLETED, counts=self._counts(report), now=self.clock()
        )
        return report

    def _decide_and_write(
        self,
        crm: str,
        pipeline: Pipeline,
        events: Sequence[ClaimedEvent],
        run_id: int,
        report: BatchReport,
        now: datetime,
    ) -> set[str]:
        """Handle the batch; return the ids of records whose write the CRM refused (their events are retried)."""
        deleted = _deleted(events)
        for record_id in sorted({e.record_id for e in events if e.kind in _DELETIONS}):
            report.forgotten += self._forget(crm, record_id)
        by_type: dict[str, list[str]] = defaultdict(list)
        for event in events:
            if event.record_id not in deleted and event.record_id not in by_type[event.object_type]:
                by_type[event.object_type].append(event.record_id)
        refused: set[str] = set()
        forgotten_now = set(deleted)

        def note(item: Decided, status: WriteStatus) -> None:
            if status == WriteStatus.FAILED:
                refused.add(item.record.id)
            elif status == WriteStatus.GONE:
                deleted.add(item.record.id)

        for object_type, ids in by_type.items():
            for chunk in _chunks(ids, READ_LIMITS.get(crm, 100)):
                records = pipeline.crm.read(object_type, chunk)
                live = [r for r in records if not r.deleted]
                decided = pipeline.decide(live, today=self.options.as_of or now.date(), now=now)
                report.tally.add(
                    pipeline.apply(decided, run_id=run_id, now=now, dry_run=False, on_change=note)
                )
                found = {r.id for r in live}
                for record_id in chunk if object_type != PARTY_OBJECT else ():  # an Individual is no record
                    if record_id not in found:
                        report.forgotten += self._forget(crm, record_id)
        for record_id in deleted - forgotten_now:
            report.forgotten += self._forget(crm, record_id)  # gone when written
        return refused

    def _forget(self, crm: str, record_id: str) -> int:
        self.store.audit.forget(crm, record_id)
        return 1

    def _pipeline(self, crm: str) -> Pipeline:
        if crm not in self._pipelines:
            self._pipelines[crm] = self._factory(crm)
        return self._pipelines[crm]

    def _fail(
        self, report: BatchReport, events: Sequence[ClaimedEvent], code: str, now: datetime
    ) -> BatchReport:
        died = self.store.queue.fail(events, code=code, now=now, max_attempts=self.options.max_attempts)
        report.dead += died
        report.retried += len(events) - died
        log.warning(
            "%s: %s event(s) not settled (%s): %s retried later, %s dead",
            report.crm, len(events), code, len(events) - died, died,
        )  # fmt: skip
        return report

    @staticmethod
    def _counts(report: BatchReport) -> dict[str, object]:
        return {**report.tally.as_dict(), "events": report.events, "forgotten": report.forgotten}

    def report(self, report: BatchReport) -> None:
        """Count one batch in the metrics (and log it)."""
        crm, tally, metrics = report.crm, report.tally, self.metrics
        metrics.inc("lawful_crm_worker_events_total", report.settled, crm=crm, outcome="done")
        metrics.inc("lawful_crm_worker_events_total", report.retried, crm=crm, outcome="retry")
        metrics.inc("lawful_crm_worker_events_total", report.dead, crm=crm, outcome="dead")
        metrics.inc("lawful_crm_decisions_total", tally.read, crm=crm, trigger="webhook")
        metrics.inc("lawful_crm_writes_total", tally.written, crm=crm, trigger="webhook")
        metrics.inc("lawful_crm_write_failures_total", tally.failed, crm=crm, trigger="webhook")
        metrics.inc("lawful_crm_forgotten_total", report.forgotten, crm=crm)
        if report.error is not None:
            metrics.inc("lawful_crm_errors_total", crm=crm, code=report.error)
        pipeline = self._pipelines.get(crm)
        if pipeline is not None:
            metrics.api_usage(crm, "webhook", pipeline.crm, pipeline.crm.usage())
        if report.events:
            log.info(
                "%s: %s event(s): %s decided, %s written, %s forgotten, %s retried, %s dead",
                crm, report.events, tally.read, tally.written, report.forgotten, report.retried, report.dead,
            )  # fmt: skip


def _deleted(events: Sequence[ClaimedEvent]) -> set[str]:
    """Records to forget without reading: privacy-deleted ones, and deleted ones with no change queued after.

    A record deleted and then restored (a change event after the deletion) is forgotten and read again: if it
    is back, it is decided anew.
    """
    last_delete: dict[str, int] = {}
    privacy = set()
    for event in events:
        if event.kind in _DELETIONS:
            last_delete[event.record_id] = max(event.id, last_delete.get(event.record_id, 0))
        if event.kind == "privacy_delete":
            privacy.add(event.record_id)
    restored = {
        e.record_id for e in events if e.kind == "change" and e.id > last_delete.get(e.record_id, e.id)
    }
    return privacy | (set(last_delete) - restored)


def _where(error: BaseException) -> str:
    """Where an exception was raised (file and line): enough to find a bug, without the message's data."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"


def _main_error(tally: PageTally) -> str:
    """The most frequent write error code of a batch (the dead letter's reason)."""
    return tally.errors.most_common(1)[0][0] if tally.errors else "write_failed"
