"""When the run-level write buffer starts holding a run's changes for bulk jobs, and how it sends them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import pytest

from connector.crm.bulkport import BulkCapable, BulkUsage
from connector.crm.port import FieldUpdate, WriteOutcome
from connector.errors import RetriableError
from connector.store import Store, WriteStatus
from connector.sync.buffer import Held, WriteBuffer


class BulkCrm:
    """A CRM with a bulk path whose pulls went in bulk `pulls` times."""

    def __init__(self, threshold: int) -> None:
        self.bulk_threshold, self.pulls = threshold, 0

    def write_bulk(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        return [WriteOutcome(update.record_id, ok=True) for update in updates]

    def finish_writes_in_flight(self) -> int:
        return 0

    def bulk_usage(self) -> BulkUsage:
        return BulkUsage(pulls=self.pulls)


def buffer(crm: BulkCrm) -> WriteBuffer:
    assert isinstance(crm, BulkCapable)
    return WriteBuffer(crm, cast(Store, cast(Any, None)))


def test_changes_are_written_page_by_page_until_the_run_passes_the_threshold() -> None:
    held = buffer(BulkCrm(threshold=5))
    assert [held.admit(3), held.admit(2), held.admit(1), held.admit(1)] == [False, False, True, True]
    assert held.note is not None and "from change 6 on" in held.note and "bulk_threshold 5" in held.note


def test_a_pull_that_went_in_bulk_sends_the_write_back_in_bulk_from_its_first_change() -> None:
    crm = BulkCrm(threshold=1000)
    crm.pulls = 2  # pulls of earlier runs of the same adapter do not count
    held = buffer(crm)
    assert held.admit(10) is False
    crm.pulls = 3
    assert held.admit(10) is True
    assert held.note is not None and "from change 11 on (the pull went in bulk" in held.note


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
        super().__init__(threshold=0)
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
    buffer.hold(held("003A1", "003B2"))
    assert buffer.full and buffer.send().written == 0  # nothing sent before
    buffer.hold(held("003C3"))  # the run holds the next page's changes meanwhile
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
    buffer.hold(held("003A1", "003B2"))
    buffer.send()
    buffer.hold(held("003C3"))
    crm.release.set()
    with pytest.raises(RetriableError):
        buffer.send()
    assert audit.statuses == {} and [h.update.record_id for h in buffer.held] == ["003C3"]
    assert buffer.wait().written == 0  # nothing in flight any more
