"""The sync shell: cursor -> pages -> pipeline -> checkpoint, page by page, for one CRM.

Memory stays flat (one page at a time) and a crash loses at most the page in flight, which the next run
redoes: the cursor is saved only after a page's writes and audit are done, and a redone page writes nothing
that already holds (plans compare with the CRM's current values). Every record gets a pending audit entry
before its write is sent; the write's outcome settles it, and a write cut short by an outage is audited for the
records it did write. Entries a dead process left pending are settled first by the next run, which reads those
records back and compares them with the values sent. Records whose write failed (a lock held past every
retry, a validation rule) are read again by id at the start of the next incremental run, since its cursor has
moved past them. When the CRM keeps failing after every retry the run ends ``failed`` with its checkpoint kept,
and the next run resumes. After each object's pull the store is reconciled with the CRM (``reconcile``): after
a full pull, and once a day after an incremental one, the records the CRM no longer has are forgotten.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connector.crm.bulkport import BulkCapable, BulkUsage
from connector.crm.port import CrmPort, CrmRecord, Cursor, Page
from connector.errors import FatalError, RetriableError, RunStoppedError
from connector.mapping.facts import CompiledMapping
from connector.policy import PolicySettings
from connector.store import PendingWrite, RunKind, RunOutcome, Store
from connector.sync.buffer import WriteBuffer
from connector.sync.collection import run_collection
from connector.sync.pipeline import ChangeSink, Decided, PageTally, Pipeline
from connector.sync.plan import BlastRadiusGuard, GuardVerdict
from connector.sync.reconcile import MARKER_SUFFIX, SeenIds, due, gone, marker, missing
from connector.sync.screening import PhoneScreener
from connector.sync.settle import holds_sent_values

__all__ = ["Outcome", "SyncOptions", "SyncResult", "run_sync"]

log = logging.getLogger("lawful_crm.sync")
RETRY_PAGE = 200
"""Records whose write failed are read again by id, this many per call (the adapters' read batch)."""
RETRY_LIMIT = 10_000
"""At most this many are read again per run, oldest failures first; the rest wait for the next run."""
DUE_PAGE = 1_000
"""Records decided again from the store per query."""
IN_FLIGHT = timedelta(minutes=15)
"""How long a pending entry of a run still recorded as running may wait for its own outcome: a live worker's
write in flight (bounded by the retry deadline) is not settled as unwritten under it."""
WRITE_BATCH = 200
"""Changed records written together by the catch-up (a Salesforce collection; two HubSpot batches). A record
held back is still due, so a run killed before writing it redoes it."""


Outcome = RunOutcome
"""How a run ended: the run log's ``RunOutcome`` (a finished run is never ``running``)."""


@dataclass(frozen=True, slots=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    limit: int | None = None
    accept_large_change: bool = False
    guard_share: float = 0.05
    guard_minimum: int = 20
    as_of: date | None = None
    """Decide as of this day instead of today (tests, and dry runs that preview a date ahead)."""
    refused_retries: int = 3
    """How many runs in a row try again a record whose write the CRM refused (``[sync] refused_retries``);
    refused once more, it is parked: tried again only when it changes, under another policy, or by a full run."""


@dataclass(slots=True)
class SyncResult:
    crm: str
    run_id: int
    kind: str
    outcome: Outcome = Outcome.COMPLETED
    tally: PageTally = field(default_factory=PageTally)
    pages: int = 0
    api_calls: int = 0
    throttled: int = 0
    """Calls of this run the CRM answered 429."""
    quota_remaining: int | None = None
    message: str | None = None
    guard: GuardVerdict | None = None
    notes: list[str] = field(default_factory=list)
    """Why the run did more than read what changed: a full pull it owed, records due without an edit."""
    redecided: int = 0
    """Records decided again from the store (expired, policy or register change) rather than read."""
    parked: int = 0
    """Records the CRM refused more than ``refused_retries`` times in a row, not tried again by this run."""
    bulk_calls: int = 0
    """Of ``api_calls``, those to bulk jobs (Salesforce's Bulk API 2.0: create, upload, close, poll, results)."""
    bulk_jobs: int = 0
    bulk_polls: int = 0
    transfers: list[str] = field(default_factory=list)
    """Why the pull and the write-back went by REST or in bulk: the estimate and the threshold."""

    def counts(self) -> dict[str, object]:
        return {
            **self.tally.as_dict(),
            "pages": self.pages,
            "api_calls": self.api_calls,
            "quota_remaining": self.quota_remaining,
            "message": self.message,
            "redecided": self.redecided,
            "parked": self.parked,
            "bulk": {"calls": self.bulk_calls, "jobs": self.bulk_jobs, "polls": self.bulk_polls},
            "transfers": list(self.transfers),
            "notes": list(self.notes),
        }


Progress = Callable[[SyncResult], None]
"""Called after every page, and after held changes are written, with the run's totals so far (progress bar or
log line)."""


def _kind(options: SyncOptions, *, full: bool) -> RunKind:
    if options.dry_run:
        return RunKind.DRY_RUN
    return RunKind.FULL if full else RunKind.INCREMENTAL


def run_sync(
    crm: CrmPort,
    compiled: CompiledMapping,
    policy: PolicySettings,
    store: Store,
    options: SyncOptions,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    today: date | None = None,
    progress: Progress | None = None,
    on_change: ChangeSink | None = None,
    screener: PhoneScreener | None = None,
) -> SyncResult:
    """Sync every object of ``crm`` once; the result says how it ended. FatalError propagates after logging.

    ``screener`` screens each page's phone numbers against the do-not-call registers (one call per page).
    Garbage is collected as a run wants it while it lasts (`collection.py`)."""
    pipeline = Pipeline(crm, compiled, policy, store, screener)
    run = _SyncRun(crm, pipeline, store, options, clock, progress, on_change)
    with run_collection():
        return run.execute(today)


class _SyncRun:
    def __init__(
        self,
        crm: CrmPort,
        pipeline: Pipeline,
        store: Store,
        options: SyncOptions,
        clock: Callable[[], datetime],
        progress: Progress | None,
        on_change: ChangeSink | None,
    ) -> None:
        self.crm, self.pipeline, self.store, self.options = crm, pipeline, store, options
        self.clock, self.progress, self.on_change = clock, progress, on_change
        self.full_reason = (
            None if options.full else store.runs.full_run_owed(crm.name, pipeline.compiled.digest)
        )
        self.full = options.full or self.full_reason is not None
        self.seen = SeenIds()
        """The live ids a full pull read, for reconciliation."""
        bulk_on = isinstance(crm, BulkCapable) and not options.dry_run and on_change is None
        self.buffer = WriteBuffer(crm, store) if isinstance(crm, BulkCapable) and bulk_on else None
        """Holds the run's changes, written in bulk once they pass the CRM's bulk write threshold (``buffer.py``)."""
        self.last_cursor: Cursor | None = None
        self.guard = BlastRadiusGuard(
            share=options.guard_share,
            minimum=options.guard_minimum,
            managed=0 if self.full else store.audit.managed(crm.name),
            enabled=not options.accept_large_change and store.runs.has_completed(crm.name),
        )

    def execute(self, today: date | None) -> SyncResult:
        started = self.run_started = self.clock()
        before = self.crm.usage()  # an adapter may serve several runs
        self.calls_before, self.throttled_before = before.calls, before.throttled
        self.bulk_before = self._bulk_usage()
        self.wrote_until: datetime | None = None
        self.carried_window: tuple[datetime | None, datetime | None] = (None, None)
        kind = _kind(self.options, full=self.full)
        self.today = today or self.options.as_of or started.date()
        run_id = self.store.runs.start(
            self.crm.name,
            kind,
            policy_id=self.pipeline.policy.policy_id,
            now=started,
            mapping_hash=self.pipeline.compiled.digest,
            as_of=self.today,
        )
        self.result = result = SyncResult(
            crm=self.crm.name, run_id=run_id, kind=kind, outcome=Outcome.INTERRUPTED
        )
        if self.full_reason is not None:
            result.notes.append(f"a full run: {self.full_reason}")
        log.info("run %s: %s sync of %s started", run_id, kind, self.crm.name)
        try:
            if isinstance(self.crm, BulkCapable) and not self.options.dry_run and self._unsettled():
                self.crm.finish_writes_in_flight()  # a stopped run's jobs end before their records are read back
            pulled = all(self._sync_object(object_type) for object_type in self.crm.object_types)
            if pulled:
                caught_up = self._catch_up()
                self._flush_held(None)
                if caught_up:
                    result.outcome = Outcome.COMPLETED
        except RunStoppedError as stop:
            result.outcome = Outcome.STOPPED
            result.message = str(stop)
        except RetriableError as failure:  # every retry spent: end the run, keep the checkpoint
            result.outcome = Outcome.FAILED
            result.message = (
                f"the CRM kept failing after every retry ({type(failure).__name__}: {failure}); "
                "the next run resumes from the last checkpoint"
            )
        except FatalError as fatal:
            result.outcome = Outcome.FAILED
            result.message = f"{type(fatal).__name__}: {fatal}"
            raise
        except Exception as error:  # a bug or the store's disk: the run failed; what it owed stays owed
            result.outcome = Outcome.FAILED
            result.message = (
                f"the run failed unexpectedly ({type(error).__name__}); nothing it owed is lost: "
                "the next run resumes from the last checkpoint"
            )
            raise
        finally:
            self._end_sending()
            self._finish(run_id)
            log.info(
                "run %s: %s after %s records, %s written, %s failed, %s API calls",
                run_id, result.outcome.value, result.tally.read, result.tally.written, result.tally.failed,
                result.api_calls,
            )  # fmt: skip
        return result

    def _end_sending(self) -> None:
        """A run that ends on an error may leave a bulk job in flight: wait for it, so its outcome settles its
        entries (or, cut short, leaves them for the next run) before the run is recorded. Its own error is
        logged; the run's error is the one that ended it."""
        if self.buffer is None:
            return
        try:
            self.result.tally.add(self.buffer.wait())
        except Exception as error:
            log.warning(
                "run %s: a bulk write in flight failed (%s)", self.result.run_id, type(error).__name__
            )

    def _finish(self, run_id: int) -> None:
        """Record how the run ended; a store that cannot take it (a full disk) must not hide the run's own
        error, and the run then stays "running", which is never "completed"."""
        result = self.result
        try:
            self._note_usage()
            self.store.runs.finish(run_id, outcome=result.outcome, counts=result.counts(), now=self.clock())
        except Exception as error:
            log.error("run %s: its outcome could not be recorded (%s)", run_id, type(error).__name__)
            if result.outcome is not Outcome.FAILED:
                raise

    def _with_write_window(self, cursor: Cursor) -> Cursor:
        """The cursor stamped with our latest write-back window, so the next pull can skip our own echo."""
        window: tuple[datetime | None, datetime | None] = self.carried_window
        if self.wrote_until is not None:
            # whole seconds: the CRMs store ``checked`` to the second (Salesforce) or millisecond (HubSpot)
            window = (self.run_started.replace(microsecond=0), self.wrote_until)
        return dataclasses.replace(cursor, own_writes_from=window[0], own_writes_until=window[1])

    def _unsettled(self) -> bool:
        """Whether a run left writes whose outcome it did not learn (only then may bulk jobs be in flight)."""
        return any(self.store.audit.unsettled(self.crm.name, name, limit=1) for name in self.crm.object_types)

    def _bulk_usage(self) -> BulkUsage:
        return self.crm.bulk_usage() if isinstance(self.crm, BulkCapable) else BulkUsage()

    def _flush_held(self, object_type: str | None) -> None:
        """Send the changes the buffer holds. After an object's pull, its last cursor is saved again with the
        write window these writes widened, so the next pull leaves their echo out."""
        if self.buffer is None or not self.buffer.busy:
            return
        tally = self.buffer.flush()
        self.result.tally.add(tally)
        cursor = self.last_cursor
        if tally.written:
            self.wrote_until = self.clock()
            if object_type is not None and cursor is not None and cursor.object_type == object_type:
                self.store.cursors.save(
                    self.crm.name,
                    self._with_write_window(cursor),
                    run_id=self.result.run_id,
                    now=self.clock(),
                )
        self._note_usage()
        if self.progress is not None:  # the held changes' outcomes move the run's totals
            self.progress(self.result)

    def _note_usage(self) -> None:
        bulk, before = self._bulk_usage(), self.bulk_before
        self.result.bulk_calls, self.result.bulk_jobs = bulk.calls - before.calls, bulk.jobs - before.jobs
        self.result.bulk_polls = bulk.polls - before.polls
        held = [self.buffer.note] if self.buffer is not None and self.buffer.note else []
        self.result.transfers = [*bulk.transfers[len(before.transfers) :], *held]
        usage = self.crm.usage()
        self.result.api_calls = usage.calls - self.calls_before
        self.result.throttled = usage.throttled - self.throttled_before
        self.result.quota_remaining = usage.remaining

    def _sync_object(self, object_type: str) -> bool:
        """Sync one object type; False when the whole run must end (guard refusal or limit reached)."""
        previous = self.store.cursors.get(self.crm.name, object_type)
        since = None if self.full else previous
        self.carried_window = (
            (previous.own_writes_from, previous.own_writes_until) if previous is not None else (None, None)
        )
        if not self.options.dry_run and not self._settle_unsettled(object_type, decide=since is not None):
            return False
        if since is not None and not self._retry_failed(object_type):
            return False
        self.seen = SeenIds()
        pulled = all(self._handle_page(page) for page in self.crm.pull(object_type, since=since))
        self._flush_held(object_type)
        if not pulled:
            return False
        self._reconcile(object_type, full=since is None)
        return True

    def _reconcile(self, object_type: str, *, full: bool) -> None:
        """Forget the managed records the CRM no longer has: compared with what a whole full pull read, or
        once a day with the CRM's id listing (see ``reconcile``)."""
        if self.options.dry_run or (full and self.options.limit is not None):
            return
        now = self.clock()
        last = self.store.cursors.get(self.crm.name, f"{object_type}{MARKER_SUFFIX}")
        if full:
            live = self.seen
        elif due(last, now):
            live = SeenIds()
            for page in self.crm.live_ids(object_type):
                live.update(page)
        else:
            if last is None:  # the first run: reconcile a day from now
                self.store.cursors.save(
                    self.crm.name, marker(object_type, now), run_id=self.result.run_id, now=now
                )
            return
        candidates: list[str] = []
        after = ""
        while managed := self.store.audit.managed_ids(self.crm.name, object_type, after=after):
            candidates += missing(managed, live)
            after = managed[-1]
        confirmed = gone(candidates, lambda ids: [r.id for r in self.crm.read(object_type, ids)])
        for record_id in confirmed:
            self.store.audit.forget(self.crm.name, record_id)
        self.result.tally.deleted += len(confirmed)
        self.store.cursors.save(self.crm.name, marker(object_type, now), run_id=self.result.run_id, now=now)
        log.info("run %s: reconciled %s, %d records no longer in the CRM", self.result.run_id, object_type,
                 len(confirmed))  # fmt: skip

    def _settle_unsettled(self, object_type: str, *, decide: bool) -> bool:
        """Settle the pending audit entries of writes whose outcome no run recorded (a process killed between
        sending a write and recording it, or a connection that broke mid-call): read those records and mark
        each entry written when the record holds the values it was sent, else failed (``INTERRUPTED``; see
        ``_settled``). An incremental run then decides them as a pulled page (the cursor may have moved past
        them, and our own write's echo is left out of the pull); a full run reads them again anyway."""
        pending = self.store.audit.unsettled(self.crm.name, object_type, limit=RETRY_LIMIT)
        if not pending:
            return True
        log.info("run %s: settling %d %s writes whose outcome was not recorded", self.result.run_id,
                 len(pending), object_type)  # fmt: skip
        checked = self.pipeline.compiled.mapping.writeback.checked
        by_record: dict[str, list[PendingWrite]] = {}
        for entry in pending:
            by_record.setdefault(entry.record_id, []).append(entry)

        def settle(chunk: list[str], records: list[CrmRecord]) -> None:
            found = {record.id: record for record in records}
            entries = [entry for record_id in chunk for entry in by_record[record_id]]
            self.store.audit.settle(_settled(entries, found, checked, self.clock()))

        return self._read_again(object_type, list(by_record), settle=settle, decide=decide)

    def _retry_failed(self, object_type: str) -> bool:
        """Read again the records whose last write failed (a lock, a validation rule since fixed, …): the
        cursor has moved past them, and a full run would be the only other way back to them. A record the CRM
        refused more than ``refused_retries`` times in a row is parked instead, unless the policy changed since
        the last run: a pull reads it again when it changes; the run notes how many are parked, by code."""
        parked = self.store.audit.refusals(self.crm.name, object_type, more_than=self.options.refused_retries)
        if parked and self._policy_changed():
            parked = []
        left = {refusal.record_id for refusal in parked}
        # however many are parked, up to RETRY_LIMIT others are read again
        ids = self.store.audit.failed(self.crm.name, object_type, limit=RETRY_LIMIT + len(left))
        ids = [record_id for record_id in ids if record_id not in left][:RETRY_LIMIT]
        if parked:
            self.result.parked += len(parked)
            codes = Counter(refusal.code or "no code" for refusal in parked)
            self.result.notes.append(
                f"{len(parked)} {object_type} records the CRM refused more than {self.options.refused_retries} "
                f"times in a row are parked ({', '.join(f'{code} {n}' for code, n in sorted(codes.items()))}): "
                "tried again when they change; `lawful-crm audit refused` lists them"
            )
        if not ids:
            return True
        log.info("run %s: reading %d %s records whose write failed before", self.result.run_id, len(ids),
                 object_type)  # fmt: skip
        return self._read_again(object_type, ids)

    def _policy_changed(self) -> bool:
        """Whether the policy differs from the one the CRM's previous run decided under."""
        previous = [
            run for run in self.store.runs.recent(self.crm.name, limit=2) if run.id != self.result.run_id
        ]
        return bool(previous) and previous[0].policy_id != self.pipeline.policy.policy_id

    def _read_again(
        self,
        object_type: str,
        ids: list[str],
        *,
        settle: Callable[[list[str], list[CrmRecord]], None] | None = None,
        decide: bool = True,
    ) -> bool:
        """Read records by id, ``RETRY_PAGE`` at a time, hand each chunk to ``settle`` first, and (with
        ``decide``) decide them as a pulled page; ids no longer in the CRM are forgotten."""
        for start in range(0, len(ids), RETRY_PAGE):
            chunk = ids[start : start + RETRY_PAGE]
            records = self.crm.read(object_type, chunk)
            if settle is not None:
                settle(chunk, records)
            found = {record.id for record in records}
            if not self.options.dry_run:
                for record_id in chunk:
                    if record_id not in found:  # deleted, merged or converted since: nothing to write
                        self.store.audit.forget(self.crm.name, record_id)
            if decide and records and not self._handle_page(Page(records=tuple(records), cursor=None)):
                return False
        return True

    def _handle_page(self, page: Page) -> bool:
        live: list[CrmRecord] = [r for r in page.records if not r.deleted]
        gone = [r for r in page.records if r.deleted]
        decided = self.pipeline.decide(live, today=self.today, now=self.clock())
        if page.lag:
            decided = self._as_written(decided, lag=page.lag)
        if self.full:
            self.seen.update(item.record.id for item in decided)
        return self._apply(decided, gone=gone, cursor=page.cursor)

    def _as_written(self, decided: list[Decided], *, lag: timedelta) -> list[Decided]:
        """A page read from a lagging search index can show a record lawful-crm wrote a moment ago as it was
        before that write, and would have it written again (and reported as changing). So the records the page
        would write that were written within ``lag`` are read again by id, which sees every write, and decided
        on what they hold; one no longer there is left to the pull that finds its deletion."""
        planned = [item.record.id for item in decided if item.plan.update is not None]
        if not planned:
            return decided
        recent = self.store.audit.written_since(self.crm.name, planned, since=self.clock() - lag)
        if not recent:
            return decided
        object_type = decided[0].record.object_type  # a pulled page holds one object type
        records = self.crm.read(object_type, sorted(recent))
        again = {
            item.record.id: item for item in self.pipeline.decide(records, today=self.today, now=self.clock())
        }
        return [
            again[item.record.id] if item.record.id in recent else item
            for item in decided
            if item.record.id not in recent or item.record.id in again
        ]

    def _catch_up(self) -> bool:
        """Decide again, from the store, every record that is due without an edit in the CRM: its decision
        expired, the policy changed, or a register its numbers were screened against changed. Written only
        where a flag changes; no record is read from the CRM. False when the guard refused.

        The cursor's write window is left as the pull left it: these writes come after the pull, so the next
        run reads their echo once (as many reads as writes) and moves its cursor past them. Widening the window
        instead would hide a salesperson's edit made between two runs, and replacing it would expose the
        previous run's echo to a re-read of everything it wrote."""
        policy_id = self.pipeline.policy.policy_id
        registers = self.pipeline.registers_version or "none"
        due = self.store.due.tally(self.crm.name, today=self.today, policy_id=policy_id, registers=registers)
        if due.expired or due.policy or due.registers:
            self.result.notes.append(
                f"decided again from the store: {due.expired} whose decision expired by {self.today}, "
                f"{due.policy} decided under another policy, {due.registers} screened against older registers"
            )
        for object_type in self.crm.object_types:
            after = ""
            changed: list[Decided] = []  # held until a full write batch: most due records change no field
            while True:
                page = self.store.due.page(
                    self.crm.name, object_type, today=self.today, policy_id=policy_id,
                    registers=registers, after=after, limit=DUE_PAGE,
                )  # fmt: skip
                if not page:
                    break
                after = page[-1].record_id
                decided, unreadable = self.pipeline.redecide(page, today=self.today, now=self.clock())
                self.result.redecided += len(decided)
                changed += [d for d in decided if d.plan.update is not None]
                settled = [d for d in decided if d.plan.update is None]
                if settled and not self._apply(settled, gone=[], cursor=None):
                    return False
                while len(changed) >= WRITE_BATCH:
                    if not self._apply(changed[:WRITE_BATCH], gone=[], cursor=None):
                        return False
                    changed = changed[WRITE_BATCH:]
                if unreadable and not self._read_again(object_type, unreadable):
                    return False
            if changed and not self._apply(changed, gone=[], cursor=None):
                return False
        return True

    def _apply(self, decided: list[Decided], *, gone: list[CrmRecord], cursor: Cursor | None) -> bool:
        result, options = self.result, self.options
        now = self.clock()
        verdict = self.guard.admit([d.plan for d in decided], pulled=len(decided))
        if not verdict.allowed:
            result.outcome, result.guard = Outcome.REFUSED, verdict
            result.message = (
                f"{verdict.loosened} of {verdict.pulled} records would move from restrictive to permissive "
                f"(limit {verdict.limit}); nothing more was written. Check the mapping, then rerun with "
                "--accept-large-change if the change is intended."
            )
            return False
        tally = self.pipeline.apply(
            decided, run_id=result.run_id, now=now, dry_run=options.dry_run, on_change=self.on_change,
            buffer=self.buffer,
        )  # fmt: skip
        if self.buffer is not None and self.buffer.full:
            tally.add(self.buffer.send())  # the job runs while the next pages are read and decided
        tally.deleted = len(gone)
        # counted before the checkpoint: a run stopped right after it still reports the page it saved
        result.tally.add(tally)
        result.pages += 1
        if not options.dry_run:
            for record in gone:
                self.store.audit.forget(self.crm.name, record.id)
            if tally.written:
                self.wrote_until = self.clock()
            if cursor is not None:
                self.last_cursor = cursor
                self.store.cursors.save(
                    self.crm.name, self._with_write_window(cursor), run_id=result.run_id, now=now
                )
        self._note_usage()
        if self.progress is not None:
            self.progress(result)
        if options.limit is not None and result.tally.read >= options.limit:
            result.outcome = Outcome.STOPPED
            result.message = f"stopped after {result.tally.read} records (--limit {options.limit})"
            return False
        return True


def _settled(
    pending: list[PendingWrite], found: dict[str, CrmRecord], checked: str, now: datetime
) -> dict[int, bool]:
    """Entry id -> written or not, for the pending entries that can be settled from the records read: written
    when the record holds the values sent; not written when it does not, unless the entry's run is still
    open and recent (a live process's write may land yet: the entry waits for its outcome or the next run)."""
    verdicts: dict[int, bool] = {}
    for entry in pending:
        record = found.get(entry.record_id)
        if record is not None and holds_sent_values(entry.values, record.fields, checked=checked):
            verdicts[entry.id] = True
        elif not entry.run_open or now - entry.kept_at > IN_FLIGHT:
            verdicts[entry.id] = False
    return verdicts
