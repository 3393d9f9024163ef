"""The modification-time indexes answer incremental queries exactly as the full scan does.

Each case runs the same query twice on one small store, once through the index and once with the index path
switched off (the original scan + sort), after writes that moved records, deletes/archives, creations, writes
sharing one timestamp (ties) and writes stamped before the seeded data's newest record (interleaving).
"""

from __future__ import annotations

from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_sandbox import modindex
from crm_sandbox.clock import SandboxClock
from crm_sandbox.hubspot import query
from crm_sandbox.hubspot.properties import PropertyRegistry, iso_ms
from crm_sandbox.hubspot.query import SearchRunner, kind_resolver
from crm_sandbox.hubspot.search import parse_request
from crm_sandbox.hubspot.store import ContactStore
from crm_sandbox.people import modified_at, person
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import Executor
from crm_sandbox.salesforce.soql import parse
from crm_sandbox.salesforce.store import Store
from tests.helpers import SettableClock

SOQL_FIELDS = "Id, Email, SystemModstamp"


def test_modified_at_agrees_with_person() -> None:
    assert all(modified_at(5, index) == person(5, index).modified for index in range(500))


def test_seeded_order_breaks_ties_with_the_tie_key(monkeypatch: pytest.MonkeyPatch) -> None:
    coarse = {index: datetime(2020, 1, 1 + index % 3, tzinfo=UTC) for index in range(40)}
    monkeypatch.setattr(modindex, "modified_at", lambda seed, index: coarse[index])

    def tie(index: int) -> int:
        return -index

    keys, indexes = modindex.seeded_order.__wrapped__(0, 0, 40, tie)
    expected = sorted(range(40), key=lambda index: (coarse[index], tie(index)))
    assert list(indexes) == expected
    assert list(keys) == [int(coarse[index].timestamp()) for index in expected]


def test_moves_before_the_build_and_interleaved_keys_merge_in_order() -> None:
    index = modindex.ModIndex(seed=3, start=0, count=300, scale=1000)
    index.move(7, 0.0)
    index.move(8, 1_500_000_000_000.0)  # in the middle of the seeded range
    index.move(301, 1_500_000_000_000.0)  # a created record tied with 8
    index.move(7, 1_400_000_000_000.0)  # moved again: only its latest key counts
    everything = index.after(-1.0, inclusive=False)
    keys = {i: int(modified_at(3, i).timestamp()) * 1000.0 for i in range(300)}
    keys.update(index.moved)
    assert list(everything) == sorted(keys, key=lambda i: (keys[i], i))
    assert list(index.after(1_500_000_000_000.0, inclusive=True, exclude={301})) == [
        i for i in sorted(keys, key=lambda i: (keys[i], i)) if keys[i] >= 1_500_000_000_000.0 and i != 301
    ]


# -- Salesforce ---------------------------------------------------------------------------------------------
@pytest.fixture
def org() -> tuple[Store, Executor, SettableClock]:
    clock = SettableClock()
    store = Store(seed=11, contacts=600, leads=120, clock=clock)
    return store, Executor(store), clock


def both(executor: Executor, soql: str, *, include_deleted: bool = False) -> tuple[list[str], list[str]]:
    """(ids through the index, ids through the scan) of one query."""
    query = parse(soql)
    fast = executor.execute(query, include_deleted=include_deleted)
    original = executor.modstamp_scan
    executor.modstamp_scan = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        slow = executor.execute(query, include_deleted=include_deleted)
    finally:
        executor.modstamp_scan = original  # type: ignore[method-assign]
    assert (
        executor.modstamp_scan(executor.object(query.sobject), query, include_deleted=include_deleted)
        is not None
    )

    def ids(indexes: array[int]) -> list[str]:
        rows = executor.project(query, indexes, include_deleted=include_deleted)
        return [row["Id"] for row in rows]

    return ids(fast), ids(slow)


def write_a_mix(store: Store, clock: SettableClock) -> None:
    clock.now = datetime(2026, 1, 1, tzinfo=UTC)
    for index in (5, 17, 400, 599):
        store.update("Contact", index, {"DoNotCall": True})  # four writes in one second: ties by Id
    clock.now = datetime(2019, 6, 1, 12, tzinfo=UTC)  # a clock behind the data: interleaves with seeded
    store.update("Contact", 300, {"Email": "old@example.com"})
    store.update("Lead", 3, {"Email": "lead@example.com"})
    clock.now = datetime(2026, 1, 2, 0, 0, 0, 250_000, tzinfo=UTC)  # sub-second precision
    store.update("Contact", 17, {"DoNotCall": False})  # moved again
    store.delete("Contact", 33)
    store.delete("Contact", 5)
    store.create("Contact", {"LastName": "New", "Email": "new@example.com"})
    store.create("Lead", {"LastName": "Lead", "Company": "Co"})


@pytest.mark.parametrize("sobject", ["Contact", "Lead"])
def test_salesforce_index_matches_the_scan(org: tuple[Store, Executor, SettableClock], sobject: str) -> None:
    store, executor, clock = org
    write_a_mix(store, clock)
    stamps = ["2010-01-01T00:00:00Z", "2019-06-01T12:00:00Z", "2022-03-04T05:06:07Z", "2026-01-01T00:00:00Z",
              "2026-01-02T00:00:00.250Z", "2026-01-02T00:00:00.100Z", "2030-01-01T00:00:00Z"]  # fmt: skip
    for stamp in stamps:
        for op in (">", ">="):
            for tail in ("", " LIMIT 50 OFFSET 3"):
                soql = (
                    f"SELECT {SOQL_FIELDS} FROM {sobject} WHERE SystemModstamp {op} {stamp} "
                    f"ORDER BY SystemModstamp, Id{tail}"
                )
                for include_deleted in (False, True):
                    fast, slow = both(executor, soql, include_deleted=include_deleted)
                    assert fast == slow, (soql, include_deleted)


def test_salesforce_seeded_ties_are_ordered_by_id(org: tuple[Store, Executor, SettableClock]) -> None:
    store, executor, clock = org
    clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    indexes = [10, 36, 62, 3, 500]  # ids differing only in letter case sort together when lower-cased
    for index in indexes:
        store.update("Contact", index, {"DoNotCall": True})
    fast, slow = both(
        executor,
        "SELECT Id FROM Contact WHERE SystemModstamp >= 2026-03-01T00:00:00Z ORDER BY SystemModstamp, Id",
    )
    assert fast == slow == sorted((make_id("003", i) for i in indexes), key=str.lower)


def test_salesforce_other_shapes_keep_the_scan(org: tuple[Store, Executor, SettableClock]) -> None:
    _, executor, _ = org
    for soql in (
        "SELECT Id FROM Contact WHERE SystemModstamp > 2020-01-01T00:00:00Z ORDER BY SystemModstamp",
        "SELECT Id FROM Contact WHERE SystemModstamp > 2020-01-01T00:00:00Z ORDER BY SystemModstamp DESC, Id",
        "SELECT Id FROM Contact WHERE SystemModstamp < 2020-01-01T00:00:00Z ORDER BY SystemModstamp, Id",
        "SELECT Id FROM Contact WHERE SystemModstamp > LAST_N_DAYS:3 ORDER BY SystemModstamp, Id",
        "SELECT Id FROM Account WHERE SystemModstamp > 2020-01-01T00:00:00Z ORDER BY SystemModstamp, Id",
    ):
        query = parse(soql)
        assert executor.modstamp_scan(executor.object(query.sobject), query, include_deleted=False) is None


def test_salesforce_a_write_after_the_cursor_comes_back_exactly_once(
    org: tuple[Store, Executor, SettableClock],
) -> None:
    store, executor, clock = org
    soql = "SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp > {} ORDER BY SystemModstamp, Id"
    first = parse(soql.format("2000-01-01T00:00:00Z"))
    rows = executor.project(first, executor.execute(first, include_deleted=False), include_deleted=False)
    assert len(rows) == 600
    cursor = rows[-1]["SystemModstamp"].replace("+0000", "Z")
    clock.now = datetime(2026, 5, 5, tzinfo=UTC)
    store.update("Contact", 123, {"DoNotCall": True})
    again = parse(soql.format(cursor))
    rows = executor.project(again, executor.execute(again, include_deleted=False), include_deleted=False)
    assert [row["Id"] for row in rows] == [make_id("003", 123)]


# -- HubSpot ------------------------------------------------------------------------------------------------
@pytest.fixture
def hub() -> tuple[ContactStore, SearchRunner]:
    registry = PropertyRegistry()
    store = ContactStore(13, 600, registry)
    return store, SearchRunner(store, registry)


def search_both(runner: SearchRunner, body: dict[str, Any]) -> tuple[list[int], list[int]]:
    req = parse_request(body)
    assert runner._by_modified(req, kind_resolver(runner.registry, "contacts")) is not None
    fast = list(runner._evaluate(req))
    original = runner._by_modified
    runner._by_modified = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        slow = list(runner._evaluate(req))
    finally:
        runner._by_modified = original  # type: ignore[method-assign]
    return fast, slow


def incremental(op: str, value: Any, *extra: dict[str, Any]) -> dict[str, Any]:
    filters = [{"propertyName": "lastmodifieddate", "operator": op, "value": value}, *extra]
    return {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": "lastmodifieddate",
            "direction": "ASCENDING"}], "limit": 100}  # fmt: skip


def test_hubspot_index_matches_the_scan(hub: tuple[ContactStore, SearchRunner]) -> None:
    store, runner = hub
    for index in (4, 50, 377, 599, 50):
        store.update(index, {"firstname": f"Changed {index}"})
    store.archive(9)
    store.archive(4)
    created = store.create({"email": "new@example.com"})
    store.update(created, {"lastname": "Later"})
    seeded_stamp = iso_ms(person(13, 600).modified)
    write_stamp = store.properties(377)["lastmodifieddate"]
    assert write_stamp is not None
    write_ms = str(int(datetime.fromisoformat(write_stamp.replace("Z", "+00:00")).timestamp() * 1000))
    values: list[Any] = [
        "0",
        "2018-01-01",
        seeded_stamp,
        write_stamp,
        write_ms,
        int(write_ms),
        "2099-01-01T00:00:00Z",
    ]
    for value in values:
        for op in ("GT", "GTE"):
            for extra in ([], [{"propertyName": "hs_object_id", "operator": "GT", "value": "1300"}],
                          [{"propertyName": "hs_object_id", "operator": "LTE", "value": 1400}]):  # fmt: skip
                body = incremental(op, value, *extra)
                fast, slow = search_both(runner, body)
                assert fast == slow, body


def test_hubspot_total_paging_and_cap_are_unchanged() -> None:
    registry = PropertyRegistry()
    store = ContactStore(13, 10_400, registry)
    runner = SearchRunner(store, registry)
    store.update(10, {"firstname": "X"})
    body = incremental("GTE", "0")
    fast, slow = search_both(runner, body)
    assert fast == slow and len(fast) == 10_400
    total, page = runner.run(parse_request({**body, "after": 9_950, "limit": 100}))
    assert total == 10_400 and list(page) == fast[9_950:10_000]


def test_hubspot_other_shapes_keep_the_scan(hub: tuple[ContactStore, SearchRunner]) -> None:
    _, runner = hub
    kind_of = kind_resolver(runner.registry, "contacts")
    for body in (
        {
            **incremental("GT", "0"),
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
        },
        {**incremental("GT", "0"), "sorts": [{"propertyName": "createdate"}]},
        incremental("LT", "0"),
        incremental("GT", "not a date"),
        incremental("GT", "0", {"propertyName": "hs_object_id", "operator": "GT", "value": "10.5"}),
        incremental("GT", "0", {"propertyName": "email", "operator": "HAS_PROPERTY"}),
        {**incremental("GT", "0"), "query": "jan"},
    ):
        assert runner._by_modified(parse_request(body), kind_of) is None, body


def test_hubspot_a_write_after_the_cursor_comes_back_exactly_once(
    hub: tuple[ContactStore, SearchRunner],
) -> None:
    store, runner = hub
    body = incremental("GT", "0")
    total, _ = runner.run(parse_request(body))
    everything = list(runner._evaluate(parse_request(body)))
    cursor = store.properties(everything[-1])["lastmodifieddate"]
    store.update(321, {"firstname": "After the cursor"})
    total, page = runner.run(parse_request(incremental("GT", cursor)))
    assert total == 1 and list(page) == [321]
    later = datetime.now(UTC) + timedelta(days=1)
    assert runner.run(parse_request(incremental("GT", iso_ms(later))))[0] == 0


def test_hubspot_first_page_of_or_groups_sharing_a_bound_matches_the_scan(
    hub: tuple[ContactStore, SearchRunner],
) -> None:
    """Own-echo style queries (every group repeats ``lastmodifieddate GTE t``) stop once the page is full and
    give the scan's page; the total they report is never below the true one."""
    store, runner = hub
    for index in range(0, 600, 7):
        store.update(index, {"firstname": "Zed" if index % 2 else "Anna"})
    write_stamp = store.properties(301)["lastmodifieddate"]
    assert write_stamp is not None
    for threshold in ("0", write_stamp):
        bound = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": threshold}
        groups = [
            [bound, {"propertyName": "firstname", "operator": "NOT_HAS_PROPERTY"}],
            [bound, {"propertyName": "firstname", "operator": "GT", "value": "M"}],
            [bound, {"propertyName": "lastmodifieddate", "operator": "GTE", "value": write_stamp}],
        ]
        for limit in (3, 50, 200):
            body = {"filterGroups": [{"filters": g} for g in groups], "limit": limit,
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}  # fmt: skip
            req = parse_request(body)
            early = runner._first_page_since(req)
            assert early is not None
            scanned = list(runner._evaluate(req))
            assert list(early[1]) == scanned[:limit] and early[0] >= len(scanned)
            assert scanned, body


class FixedClock(SandboxClock):
    """A sandbox clock standing at one moment (each write is then stamped a millisecond after the last)."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_hubspot_records_tied_on_one_moment_are_read_by_id_from_the_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page of records sharing one ``lastmodifieddate`` (``EQ t`` and ``hs_object_id GT x`` in every OR-ed
    group, sorted by id) gives what the scan gives: a seeded record and a written one tied on a second, an
    archived record left out, other moments alone or empty."""
    registry = PropertyRegistry()
    moment = person(13, 77).modified
    store = ContactStore(13, 600, registry, clock=FixedClock(moment - timedelta(milliseconds=1)))
    runner = SearchRunner(store, registry)
    store.update(5, {"firstname": "Tied"})  # stamped at `moment`, as seeded contact 77 is
    store.update(400, {"firstname": "Next"})
    store.archive(3)
    store.update(3, {"firstname": "Archived"})
    assert store.properties(5)["lastmodifieddate"] == iso_ms(moment)

    def tied(at: datetime, after_id: int) -> dict[str, Any]:
        pinned = [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(int(at.timestamp() * 1000))},
                  {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)}]  # fmt: skip
        extra = ([{"propertyName": "firstname", "operator": "NOT_HAS_PROPERTY"}],
                 [{"propertyName": "firstname", "operator": "LT", "value": "m"}],
                 [{"propertyName": "firstname", "operator": "GTE", "value": "m"}])  # fmt: skip
        return {"filterGroups": [{"filters": pinned + e} for e in extra], "limit": 200,
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}  # fmt: skip

    ms = timedelta(milliseconds=1)
    cases = [(moment, 0), (moment, 1006), (moment, 1100), (moment + ms, 0), (moment + 2 * ms, 0),
             (moment + 3 * ms, 0), (moment + 9 * ms, 0)]  # fmt: skip
    results = []
    for at, after_id in cases:
        req = parse_request(tied(at, after_id))
        assert query._one_moment(req.groups) is not None
        fast = list(runner._evaluate(req))
        with monkeypatch.context() as patch:
            patch.setattr(query, "_one_moment", lambda groups: None)
            slow = list(runner._evaluate(req))
        assert fast == slow, (at, after_id)
        results.append(fast)
    assert results[:4] == [[5, 77], [77], [], [400]] and not any(results[4:])
