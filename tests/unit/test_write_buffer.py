"""When the run-level write buffer starts holding a run's changes for bulk jobs, and how it sends them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import pytest

from connector.crm.bulkport import BulkCapable, BulkUsage
from connector.crm.port import FieldUpdate, WriteOutcome
from connector.errors import RetriableError
from connector.store import Store, WriteStatus
from connector.sync.buffer import Held, WriteBuffer


class BulkCrm:
    """A CRM with a bulk path whose pulls went in bulk `pulls` times; it records how each update was written."""

    def __init__(self, threshold: int, *, write_batch: int = 200, rest_calls_until_down: int = -1) -> None:
        self.bulk_write_threshold, self.write_batch, self.pulls = threshold, write_batch, 0
        self.ways: list[tuple[str, list[str]]] = []
        self.rest_calls_until_down = rest_calls_until_down

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        if len([way for way, _ in self.ways if way == "rest"]) == self.rest_calls_until_down:
            raise RetriableError("the CRM is down")
        self.ways.append(("rest", [update.record_id for update in updates]))
        return [WriteOutcome(update.record_id, ok=True) for update in updates]

    def write_bulk(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        self.ways.append(("bulk", [update.record_id for update in updates]))
        return [WriteOutcome(update.record_id, ok=True) for update in updates]

    def finish_writes_in_flight(self) -> int:
        return 0

    def bulk_usage(self) -> BulkUsage:
        return BulkUsage(pulls=self.pulls)


def buffer(crm: BulkCrm, audit: SettledEntries | None = None, *, job_size: int | None = None) -> WriteBuffer:
    assert isinstance(crm, BulkCapable)
    return WriteBuffer(crm, cast(Store, SimpleNamespace(audit=audit or SettledEntries())), job_size=job_size)


def page(held_by: WriteBuffer, *record_ids: str) -> None:
    """A page's changes as the pipeline hands them on: counted, then held."""
    held_by.admit(len(record_ids))
    held_by.hold(held(*record_ids))


def test_a_run_at_or_below_the_threshold_writes_its_held_changes_by_rest_when_the_object_ends() -> None:
    crm, audit = BulkCrm(threshold=5), SettledEntries()
    run = buffer(crm, audit)
    page(run, "003A1", "003B2", "003C3")
    page(run, "003D4", "003E5")
    assert crm.ways == [] and audit.statuses == {}  # held, their entries still pending
    assert run.flush().written == 5
    assert crm.ways == [("rest", ["003A1", "003B2", "003C3", "003D4", "003E5"])]
    assert set(audit.statuses.values()) == {WriteStatus.WRITTEN}
    assert run.note is not None and "5 changes by REST" in run.note and "bulk_write_threshold 5" in run.note


def test_held_changes_go_by_rest_a_call_at_a_time_each_settled_before_the_next_is_sent() -> None:
    crm, audit = BulkCrm(threshold=5, write_batch=2, rest_calls_until_down=1), SettledEntries()
    run = buffer(crm, audit)
    page(run, "003A1", "003B2", "003C3")
    with pytest.raises(RetriableError):
        run.flush()
    assert crm.ways == [("rest", ["003A1", "003B2"])]
    assert audit.statuses == {1: WriteStatus.WRITTEN, 2: WriteStatus.WRITTEN}  # 3 stays pending


def test_the_page_that_takes_the_run_past_the_threshold_sends_everything_held_in_bulk() -> None:
    crm = BulkCrm(threshold=5)
    run = buffer(crm)
    page(run, "003A1", "003B2", "003C3")
    page(run, "003D4", "003E5", "003F6")
    run.flush()
    assert crm.ways == [("bulk", ["003A1", "003B2", "003C3", "003D4", "003E5", "003F6"])]
    assert run.note is not None and "from change 1 on" in run.note and "bulk_write_threshold 5" in run.note


def test_changes_already_written_by_rest_are_not_counted_as_bulk_ones() -> None:
    crm = BulkCrm(threshold=5)
    run = buffer(crm)
    page(run, "003A1", "003B2")
    run.flush()  # the first object's changes: two, by REST
    page(run, "00QC3", "00QD4", "00QE5", "00QF6")
    run.flush()
    assert crm.ways == [("rest", ["003A1", "003B2"]), ("bulk", ["00QC3", "00QD4", "00QE5", "00QF6"])]
    assert run.note is not None and "from change 3 on" in run.note


def test_a_threshold_above_the_job_size_still_bounds_what_is_held() -> None:
    crm = BulkCrm(threshold=100)
    run = buffer(crm, job_size=2)
    page(run, "003A1", "003B2")
    assert (
        run.full
    )  # the run sends what it holds (by REST: the threshold is not passed) rather than hold more
    run.send()
    assert run.wait().written == 2 and crm.ways == [("rest", ["003A1", "003B2"])]


def test_a_pull_that_went_in_bulk_sends_the_write_back_in_bulk_from_its_first_change() -> None:
    crm = BulkCrm(threshold=1000)
    crm.pulls = 2  # pulls of earlier runs of the same adapter do not count
    run = buffer(crm)
    page(run, "003A1")
    assert not run.bulk
    crm.pulls = 3
    page(run, "003B2")
    run.flush()
    assert crm.ways == [("bulk", ["003A1", "003B2"])]
    assert run.note is not None and "from change 1 on (the pull went in bulk" in run.note


class SettledEntries:
    """The store's audit as the buffer uses it: each settled entry's status."""

    def __init__(self) -> None:
        self.statuses: dict[int, str] = {}

    def settle_writes(self, outcomes: dict[int, tuple[str, str | None, str]]) -> int:
        self.statuses.update({entry_id: outcome[0] for entry_id, outcome in outcomes.items()})
        return len(outcomes)


class SlowBulkCrm(BulkCrm):
    """A bulk CRM whose jobs run until released, and fail with `error` when one is set."""

    def __init__(self) -> None:
        super().__init__(threshold=0)  # every change goes in bulk
        self.release = threading.Event()
        self.error: Exception | None = None
        self.jobs: list[list[str]] = []

    def write_bulk(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        self.jobs.append([update.record_id for update in updates])
        assert self.release.wait(timeout=30)
        if self.error is not None:
            raise self.error
        return super().write_bulk(updates)


def held(*record_ids: str) -> list[Held]:
    return [Held(FieldUpdate("Contact", record_id, {"Lawful_Use__c": "x"}), entry_id=int(record_id[-1]))
            for record_id in record_ids]  # fmt: skip


def sending_buffer(crm: SlowBulkCrm, audit: SettledEntries, *, job_size: int = 2) -> WriteBuffer:
    assert isinstance(crm, BulkCapable)
    return WriteBuffer(crm, cast(Store, SimpleNamespace(audit=audit)), job_size=job_size)


def test_a_full_buffer_is_sent_while_the_run_goes_on_and_counted_when_the_next_is_sent() -> None:
    crm, audit = SlowBulkCrm(), SettledEntries()
    buffer = sending_buffer(crm, audit)
    page(buffer, "003A1", "003B2")
    assert buffer.full and buffer.send().written == 0  # nothing sent before
    page(buffer, "003C3")  # the run holds the next page's changes meanwhile
    assert buffer.busy and audit.statuses == {}
    crm.release.set()
    done = buffer.flush()  # waits for the job in flight, then sends the rest
    assert done.written == 3 and crm.jobs == [["003A1", "003B2"], ["003C3"]]
    assert audit.statuses == {1: WriteStatus.WRITTEN, 2: WriteStatus.WRITTEN, 3: WriteStatus.WRITTEN}
    assert not buffer.busy


def test_a_job_in_flight_that_fails_raises_its_error_in_the_run_and_leaves_its_entries_pending() -> None:
    crm, audit = SlowBulkCrm(), SettledEntries()
    crm.error = RetriableError("the CRM kept failing")
    buffer = sending_buffer(crm, audit)
    page(buffer, "003A1", "003B2")
    buffer.send()
    page(buffer, "003C3")
    crm.release.set()
    with pytest.raises(RetriableError):
        buffer.send()
    assert audit.statuses == {} and [h.update.record_id for h in buffer.held] == ["003C3"]
    assert buffer.wait().written == 0  # nothing in flight any more
