"""A full sync in shards (SQLite and PostgreSQL): the shards together write what one run writes, a shard cut
short resumes after its last written batch, and a shard of a later nightly run starts over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import QuotaExhaustedError
from connector.jobs.shards import MAX_IDS_PER_SHARD, ShardRun, shard_of, split, sync_shard
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.store import Store, open_store
from connector.sync.pipeline import Pipeline
from tests.conftest import NOW
from tests.fakes import FakeCrm

MAPPING = CompiledMapping(load_mapping("salesforce"))
STARTED = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


class ListingCrm(FakeCrm):
    """The fake org, listing its live ids 200 a page as the adapters do."""

    listings = 0

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        self.listings += 1
        ids = sorted(i for i in self.records if i not in self.deleted)
        for start in range(0, len(ids), 200):
            yield ids[start : start + 200]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def run(crm: FakeCrm, store: Store, shard: int, *, started: datetime = STARTED) -> str:
    pipeline = Pipeline(crm, MAPPING, PolicySettings(), store)
    outcome, _ = sync_shard(pipeline, store, ShardRun("salesforce", "Contact", shard, 2, started), today=NOW,
                            guard_share=0.05)  # fmt: skip
    return outcome


def test_two_shards_write_every_record_once_and_each_only_its_own(store: Store) -> None:
    crm = ListingCrm.seeded(600)
    assert run(crm, store, 0) == "completed"
    first = set(crm.written_ids())
    assert first and all(shard_of(i, 2) == 0 for i in first)
    assert run(crm, store, 1) == "completed"
    written = crm.written_ids()
    assert len(written) == len(set(written)), "no record written twice"
    assert all(shard_of(i, 2) == 1 for i in set(written) - first)


def test_a_shard_cut_short_resumes_after_its_last_written_batch(store: Store) -> None:
    crm = ListingCrm.seeded(1000)
    mine = sorted(i for i in crm.records if shard_of(i, 2) == 0)
    reads = -(-len(mine) // 200)
    crm.quota_after_calls = reads + 1  # every read, then one write: the second write is refused
    with pytest.raises(QuotaExhaustedError):
        run(crm, store, 0)
    done = set(crm.written_ids())
    assert done and done <= set(mine[:200])
    crm.quota_after_calls, calls_before = None, crm.calls
    assert run(crm, store, 0) == "completed"
    assert crm.calls - calls_before == 2 * (reads - 1), (
        "only the batches not yet written are read and written"
    )
    assert set(crm.written_ids()) - done == {i for i in mine[200:] if i in set(crm.written_ids())}
    assert not done & set(crm.written_ids()[len(done) :]), "the written batch is not written again"


def test_a_later_nightly_run_starts_its_shard_over(store: Store) -> None:
    crm = ListingCrm.seeded(400)
    assert run(crm, store, 0) == "completed"
    calls_before = crm.calls
    assert run(crm, store, 0, started=STARTED + timedelta(days=1)) == "completed"
    mine = [i for i in crm.records if shard_of(i, 2) == 0]
    assert crm.calls - calls_before == -(-len(mine) // 200), (
        "every record of the shard read again, none written"
    )


def test_listed_once_the_ids_split_into_contiguous_ranges_that_cover_each_exactly_once() -> None:
    ids = [f"003{n:012d}" for n in range(1, 1001)]
    parts = split([*ids, *ids[:10]], 3)  # a listing that repeats ids on a page boundary
    assert [len(part) for part in parts] == [333, 333, 334]
    assert [i for part in parts for i in part] == sorted(ids), "contiguous, in order, each id once"
    assert split([], 4) == [[], [], [], []]
    many = split([f"{n:07d}" for n in range(MAX_IDS_PER_SHARD * 2 + 1)], 2)
    assert len(many) == 3 and max(len(part) for part in many) <= MAX_IDS_PER_SHARD


def test_a_shard_given_its_ids_writes_exactly_those_and_lists_nothing(store: Store) -> None:
    crm = ListingCrm.seeded(600)
    listed = list(crm.live_ids("Contact"))
    parts = split([i for page in listed for i in page], 2)
    pipeline = Pipeline(crm, MAPPING, PolicySettings(), store)
    calls_before = crm.calls
    for index, ids in enumerate(parts):
        shard = ShardRun("salesforce", "Contact", index, len(parts), STARTED)
        assert sync_shard(pipeline, store, shard, today=NOW, guard_share=0.05, ids=ids)[0] == "completed"
    written = crm.written_ids()
    assert len(written) == len(set(written)), "no record written twice"
    assert crm.listings == 1, "the shards list nothing"
    assert crm.calls - calls_before == 2 * (2 + 2), "per shard: 300 ids read and written 200 at a time"
    assert set(written) <= set(parts[0]) | set(parts[1])
