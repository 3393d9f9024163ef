"""The sync over a CRM whose pulls come from a search index that sees writes late (HubSpot's): a record
lawful-crm wrote a moment ago may be pulled as it was before, and must be neither written again nor reported as
changing; records it did not write recently cost no read by id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from connector.crm.port import CrmRecord, Cursor, Page
from connector.store import Store, open_store
from connector.sync.pipeline import Decided
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from tests.conftest import NOW
from tests.fakes import FakeCrm
from tests.integration.test_sync_run import MAPPING, POLICY, assert_every_record_correct

LAG = timedelta(hours=1)
"""Longer than the fake org's clock moves in a test (a second per call)."""


@dataclass
class LaggingSearchCrm(FakeCrm):
    """The fake org, pulled through a search index that sees the records only as ``index()`` last copied them."""

    indexed: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    """Every id read by id."""

    def index(self) -> None:
        """Search catches up with every write so far."""
        self.indexed = {record_id: dict(values) for record_id, values in self.records.items()}

    def _record(self, record_id: str, *, pulled: bool = False) -> CrmRecord:
        record = super()._record(record_id, pulled=pulled)
        if pulled and not record.deleted and record_id in self.indexed:
            return replace(record, fields=dict(self.indexed[record_id]))
        return record

    def pull(self, object_type: str, *, since: Cursor | None) -> Iterator[Page]:
        for page in super().pull(object_type, since=since):
            yield replace(page, lag=LAG)

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        self.reads.extend(ids)
        return super().read(object_type, ids)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(crm: FakeCrm, store: Store, changes: list[Decided] | None = None, **options: Any) -> SyncResult:
    sink = (lambda item, status: changes.append(item)) if changes is not None else None
    return run_sync(
        crm, MAPPING, POLICY, store, SyncOptions(**options), clock=crm.now, today=NOW, on_change=sink
    )


def test_a_full_run_right_after_a_write_back_plans_nothing_and_writes_nothing(store: Store) -> None:
    crm = LaggingSearchCrm.seeded(120)
    crm.index()
    first = sync(crm, store, full=True)
    assert first.outcome is Outcome.COMPLETED and first.tally.written == 120
    assert crm.reads == [], "nothing written yet: the index cannot hide an own write, nothing is read again"
    assert_every_record_correct(crm)

    changes: list[Decided] = []
    preview = sync(crm, store, changes, full=True, dry_run=True)  # search still shows none of the writes
    assert preview.tally.updates == 0 and changes == [], "the write-back is not reported as still to come"
    assert sorted(crm.reads) == sorted(crm.records), "each record written within the lag is read by id"

    writes = len(crm.writes)
    again = sync(crm, store, full=True)
    assert again.outcome is Outcome.COMPLETED
    assert again.tally.updates == 0 and len(crm.writes) == writes, "nothing is written twice"


def test_a_user_edit_the_index_shows_is_written_and_only_own_recent_writes_are_read_again(
    store: Store,
) -> None:
    crm = LaggingSearchCrm.seeded(60)
    crm.index()
    sync(crm, store, full=True)
    crm.clock += LAG * 2  # the index has long caught up with that write-back
    crm.index()
    edited = sorted(crm.records)[3]
    crm.edit(edited, DoNotCall=True)
    crm.index()  # search sees the edit, not yet the write-back that follows
    crm.reads.clear()

    result = sync(crm, store)
    assert result.tally.written == 1 and crm.written_ids()[-1] == edited
    assert crm.reads == [], "not written within the lag: the record as searched is the record"
    crm.reads.clear()

    assert sync(crm, store, full=True).tally.updates == 0
    assert crm.reads == [edited], "only the record written a moment ago is read again by id"
