"""When the run-level write buffer starts holding a run's changes for bulk jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from connector.crm.bulkport import BulkCapable, BulkUsage
from connector.crm.port import FieldUpdate, WriteOutcome
from connector.store import Store
from connector.sync.buffer import WriteBuffer


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
