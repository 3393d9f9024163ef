"""Incremental reading through search past the 10,000-result cap, against an in-memory search. Pure."""

from __future__ import annotations

import heapq
import random
from typing import Any

import pytest

from connector.crm.hubspot.keyset import PAGE_LIMIT, Position, Seen, search_body, step

CAP = 10_000


class FakeSearch:
    """Contacts (id -> lastmodifieddate ms) searched as HubSpot does: filters ANDed, one sort, offset paging
    refused at 10,000, and ties of the sort property returned in an order that changes between queries."""

    def __init__(self, records: dict[int, int], seed: int = 0) -> None:
        self.records = records
        self.rng = random.Random(seed)
        self.queries = 0

    def __call__(self, body: dict[str, Any]) -> list[Seen]:
        self.queries += 1
        assert int(body.get("after", 0)) < CAP, "paging past 10,000 results is refused"
        (group,) = body["filterGroups"]
        found = [
            (i, ms) for i, ms in self.records.items() if all(self._match(f, i, ms) for f in group["filters"])
        ]
        (sort,) = body["sorts"]
        key = 0 if sort["propertyName"] == "hs_object_id" else 1
        tie = self.rng.random  # ties come back in no particular order
        first = heapq.nsmallest(body["limit"], found, key=lambda item: (item[key], tie()))
        return [Seen(str(i), ms) for i, ms in first]

    @staticmethod
    def _match(f: dict[str, Any], record_id: int, ms: int) -> bool:
        have = record_id if f["propertyName"] == "hs_object_id" else ms
        value = int(f["value"])
        return {"EQ": have == value, "GT": have > value, "GTE": have >= value}[f["operator"]]


def read_all(search: FakeSearch, start_ms: int, *, on_page: Any = None) -> list[str]:
    """Every id the keyset reading yields, in order."""
    out: list[str] = []
    position: Position | None = Position(start_ms)
    while position is not None:
        results = search(search_body(position, ["email"]))
        fresh, position = step(position, results)
        page = [results[i].id for i in fresh]
        out.extend(page)
        if on_page is not None:
            on_page(page)
    return out


def test_the_search_body_is_one_group_one_sort_and_no_offset() -> None:
    """A normal query filters lastmodifieddate from the position and sorts by it ascending."""
    body = search_body(Position(1_700_000_000_000), ["email"])
    assert body["filterGroups"] == [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1700000000000"}]}
    ]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert "after" not in body and body["limit"] == PAGE_LIMIT


def test_more_than_10000_changed_records_are_all_read_once_without_paging_past_the_cap() -> None:
    """More than 10,000 results are read, each once, oldest first, about one query per 200 records."""
    records = {1000 + i: 1_600_000_000_000 + i * 7 for i in range(12_500)}
    search = FakeSearch(records)
    read = read_all(search, 1_600_000_000_000)
    assert sorted(map(int, read)) == sorted(records) and len(read) == len(set(read))
    assert search.queries <= 12_500 / (PAGE_LIMIT - 1) + 2


def test_more_than_10000_records_sharing_one_timestamp_are_read_by_id() -> None:
    """12,000 records stamped in the same millisecond (a bulk import) are read by hs_object_id, then the rest."""
    stamp = 1_650_000_000_000
    records = {i: stamp - 1000 + i for i in range(1, 300)}
    records.update({5000 + i: stamp for i in range(12_000)})
    records.update({50_000 + i: stamp + 1 + i for i in range(300)})
    search = FakeSearch(records, seed=3)
    read = read_all(search, stamp - 10_000)
    assert sorted(map(int, read)) == sorted(records) and len(read) == len(set(read))


@pytest.mark.parametrize("seed", range(5))
def test_ties_in_changing_order_at_page_boundaries_are_neither_lost_nor_repeated(seed: int) -> None:
    """Many small groups of equal timestamps, shuffled per query, straddle page ends: all read exactly once."""
    rng = random.Random(seed)
    records = {i: 1_000_000 + rng.randrange(0, 900) for i in range(1, 3000)}
    read = read_all(FakeSearch(records, seed=seed), 0)
    assert sorted(map(int, read)) == sorted(records) and len(read) == len(set(read))


def test_records_changed_while_reading_are_read_again_and_none_is_skipped() -> None:
    """Each page written back (moving it past the newest time) never makes an unread record disappear."""
    records = {i: 1_000 + i for i in range(1, 2001)}
    clock = [10_000_000]
    written: set[str] = set()

    def write_back(page: list[str]) -> None:
        for record_id in page:
            if record_id not in written:
                written.add(record_id)
                clock[0] += 1
                records[int(record_id)] = clock[0]

    read = read_all(FakeSearch(records), 0, on_page=write_back)
    assert set(map(int, read)) == set(records) and written == {str(i) for i in records}


def test_a_short_page_ends_the_reading() -> None:
    """Fewer results than the limit means nothing newer exists."""
    fresh, position = step(Position(5), [Seen("1", 5), Seen("2", 9)])
    assert fresh == [0, 1] and position is None


def test_the_boundary_records_of_the_previous_page_are_dropped() -> None:
    """GTE the last time re-reads its records; the ones already seen are not returned again."""
    results = [Seen(str(i), 100 + i) for i in range(PAGE_LIMIT - 1)] + [Seen("x", 100 + PAGE_LIMIT)]
    _, position = step(Position(0), results)
    assert position == Position(100 + PAGE_LIMIT, boundary=frozenset({"x"}))
    fresh, _ = step(position, [Seen("x", 100 + PAGE_LIMIT), Seen("y", 100 + PAGE_LIMIT)])
    assert fresh == [1]
