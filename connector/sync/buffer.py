"""The run-level write buffer: a run's changes are held, then written in bulk jobs once they pass the CRM's
`bulk_write_threshold`, through its ordinary collection write otherwise.

Every page's changes are held: each already has its pending audit entry (committed before anything is sent)
and is recorded as `pending`, and the buffer keeps only the update, the entry's id and the flag transitions it
would make, never the facts or the decision. While the run's changes are at most the threshold it does not yet
know which way they go: at the end of each object's pull and of the catch-up (or once `job_size` are held),
they are written as any page's would be (`CrmPort.write`, 200 a call on Salesforce). From the page that takes
the run past the threshold, or from the first when a pull of the run went in bulk, the run writes in bulk:
what is held goes as bulk write jobs when the buffer holds `job_size` changes, and at the end of each object's
pull and of the catch-up. Either way the outcomes settle the pending entries (`Audit.settle_writes`): written,
failed with the CRM's code, or gone, as a page's write would. So an ordinary run of 9,910 changes writes them
in one update job of four requests instead of 50 collection calls.

A process killed with changes held (or with a job sent whose results it never read) leaves their entries
pending: the next run first lets the jobs it finds in flight end (`BulkCapable.finish_writes_in_flight`), then
reads those records back and settles each entry by what the CRM holds, as for any write whose outcome was lost;
what was not written is decided and written again, what was is not written twice.

A full buffer is sent in the background (`send`): while the CRM runs its job, the run pulls, decides and audits
the next pages, and the job's outcome is collected (and its entries settled) when the buffer is full again or
at the end of the object's pull (`flush`, which waits for it). One sending is in flight at a time. Nothing about
the crash safety changes: the job's entries were pending before it was sent, and stay so until it settles them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial

from connector.crm.bulkport import BulkCapable
from connector.crm.port import FieldUpdate, WriteInterrupted, WriteOutcome
from connector.store import Store, WriteStatus
from connector.sync.pipeline import Held, PageTally

__all__ = ["JOB_SIZE", "Held", "WriteBuffer"]

log = logging.getLogger("lawful_crm.sync")
JOB_SIZE = 15_000
"""Changes sent per flush: one update job per object type (about 2 MB of CSV, 2 of Salesforce's daily batches).
A job's changes are held while the next job's fill (one in flight): 25,000 held a run's peak memory above 300 MB."""


class WriteBuffer:
    """Holds a run's changes and writes them in bulk past the CRM's bulk write threshold (see module docstring)."""

    def __init__(self, crm: BulkCapable, store: Store, *, job_size: int | None = None) -> None:
        self.crm, self.store, self.job_size = crm, store, job_size or JOB_SIZE
        self.threshold = crm.bulk_write_threshold
        self.pulls = crm.bulk_usage().pulls
        self.changes = 0
        self.bulk = False
        self.bulk_from = 0
        """The run's first change to go in bulk (1-based), once `bulk`."""
        self.why = ""
        self.held: list[Held] = []
        self._sending: _Sending | None = None

    def admit(self, changes: int) -> None:
        """Count a page's changes, about to be held; from the page that takes the run's changes past the
        threshold, or from the first page after a pull of this run went in bulk (its object holds more records
        than `bulk_threshold`, and a first run changes most of them), the run writes in bulk."""
        self.changes += changes
        if self.bulk:
            return
        if self.changes > self.threshold:
            self.why = f"more than bulk_write_threshold {self.threshold} changes in this run"
        elif self.crm.bulk_usage().pulls > self.pulls:
            self.why = "the pull went in bulk: more than bulk_threshold records"
        else:
            return
        self.bulk = True
        self.bulk_from = self.changes - changes - len(self.held) + 1  # what is held goes in bulk too
        log.info("%s", self.note)

    @property
    def note(self) -> str | None:
        """How the run's write-back went, for the run summary (None before its first change)."""
        if self.bulk:
            return (
                f"write-back: Bulk API 2.0 from change {self.bulk_from} on ({self.why}), "
                f"up to {self.job_size} a job"
            )
        if self.changes:
            return (
                f"write-back: {self.changes} changes by REST, 200 a call (at most bulk_write_threshold "
                f"{self.threshold})"
            )
        return None

    def hold(self, items: Sequence[Held]) -> None:
        self.held.extend(items)

    @property
    def full(self) -> bool:
        return len(self.held) >= self.job_size

    @property
    def busy(self) -> bool:
        """Whether changes are held or a sending is in flight."""
        return bool(self.held) or self._sending is not None

    def send(self) -> PageTally:
        """Start sending what is held in the background; return the tally of the sending before, waited for
        first (see `wait`)."""
        done = self.wait()
        items, self.held = self.held, []
        if items:
            self._sending = _Sending(partial(self._write, bulk=self.bulk), items)
        return done

    def wait(self) -> PageTally:
        """Wait for the sending in flight: its tally, or its error (its completed writes settled, the rest left
        pending) raised here."""
        sending, self._sending = self._sending, None
        return sending.result() if sending is not None else PageTally()

    def flush(self) -> PageTally:
        """Wait for the sending in flight, then write what is held (in bulk once the run went so) and settle
        the pending entries with
        the outcomes; a write cut short settles what it got and raises its reason (the rest stay pending for
        the next run)."""
        done = self.wait()
        items, self.held = self.held, []
        if items:
            done.add(self._write(items, bulk=self.bulk))
        return done

    def _write(self, items: Sequence[Held], *, bulk: bool) -> PageTally:
        """Write `items` (in bulk jobs, or `write_batch` a call with each call's outcomes settled before the
        next is sent) and settle their entries."""
        if bulk:
            return self._write_some(items, self.crm.write_bulk)
        done = PageTally()
        for start in range(0, len(items), self.crm.write_batch):
            done.add(self._write_some(items[start : start + self.crm.write_batch], self.crm.write))
        return done

    def _write_some(
        self, items: Sequence[Held], write: Callable[[Sequence[FieldUpdate]], list[WriteOutcome]]
    ) -> PageTally:
        try:
            outcomes = write([item.update for item in items])
        except WriteInterrupted as cut:
            self._settle(items, cut.completed)
            raise cut.reason from cut
        return self._settle(items, outcomes)

    def _settle(self, items: Sequence[Held], outcomes: Sequence[WriteOutcome]) -> PageTally:
        by_id = {outcome.record_id: outcome for outcome in outcomes}
        done = PageTally()
        settled: dict[int, tuple[str, str | None, str]] = {}
        for item in items:
            outcome = by_id.get(item.update.record_id)
            if outcome is None:
                continue
            if outcome.ok:
                settled[item.entry_id] = (WriteStatus.WRITTEN, None, "")
                done.written += 1
                done.transitions.update(item.transitions)
                continue
            code = outcome.code or "no_outcome"
            status = WriteStatus.FAILED if outcome.temporary else WriteStatus.REFUSED  # as the pipeline's
            settled[item.entry_id] = (
                (WriteStatus.GONE, outcome.code, "")
                if outcome.gone
                else (status, outcome.code, item.if_failed)
            )
            if outcome.gone:
                done.gone += 1
            else:
                done.failed += 1
                done.errors[code] += 1
                log.warning(
                    "write failed for %s %s: %s", item.update.object_type, item.update.record_id, code
                )
        self.store.audit.settle_writes(settled)
        return done


class _Sending:
    """One `_write` of held changes running in a thread of its own; `result` joins it."""

    def __init__(self, write: Callable[[Sequence[Held]], PageTally], items: Sequence[Held]) -> None:
        self._tally: PageTally | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._tally = write(items)
            except BaseException as error:  # raised again by `result`, in the run's thread
                self._error = error

        self._thread = threading.Thread(target=run, name="bulk-write", daemon=True)
        self._thread.start()

    def result(self) -> PageTally:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._tally is not None
        return self._tally
