"""The Salesforce emulator answers keyset-paged SOQL from its modification index exactly as the full scan does.

A reader pages with `(SystemModstamp > t OR (SystemModstamp = t AND Id > x))`, bounds a page from above with
`(SystemModstamp < t OR (SystemModstamp = t AND Id <= x))` and ANDs other filters (`IsConverted = false`); each
case runs once through the index and once with the index switched off, after writes that tie, interleave and
delete.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_sandbox.salesforce.keyset import Bound, bounds
from crm_sandbox.salesforce.query import Executor
from crm_sandbox.salesforce.soql import Compare, parse
from crm_sandbox.salesforce.store import Store, micros
from tests.helpers import SettableClock


@pytest.fixture
def org() -> tuple[Store, Executor]:
    clock = SettableClock()
    store = Store(seed=11, contacts=600, leads=150, clock=clock)
    for index in (5, 17, 400, 599):
        store.update("Contact", index, {"DoNotCall": True})  # four writes in one second: ties by Id
    for index in (3, 7, 9):
        store.update("Lead", index, {"DoNotCall": True})
    clock.now = datetime(2019, 6, 1, 12, tzinfo=UTC)  # behind the newest seeded record: interleaves
    store.update("Contact", 300, {"Title": "x"})
    store.delete("Contact", 33)
    store.delete("Lead", 7)
    return store, Executor(store)


def run(executor: Executor, soql: str, *, include_deleted: bool, indexed: bool) -> list[str]:
    query = parse(soql)
    if not indexed:
        original = executor.modstamp_scan
        executor.modstamp_scan = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        indexes = executor.execute(query, include_deleted=include_deleted)
    finally:
        if not indexed:
            executor.modstamp_scan = original  # type: ignore[method-assign]
    return [row["Id"] for row in executor.project(query, indexes, include_deleted=include_deleted)]


def pages(executor: Executor, sobject: str, extra: str, *, include_deleted: bool, indexed: bool) -> list[str]:
    """Every id, read 97 rows at a time with keyset conditions."""
    seen: list[str] = []
    after = ""
    while True:
        where = " AND ".join(part for part in (extra, after) if part)
        soql = (
            f"SELECT Id, SystemModstamp FROM {sobject} {'WHERE ' + where if where else ''} "
            "ORDER BY SystemModstamp, Id LIMIT 97"
        )
        query = parse(soql)
        if indexed:
            assert (
                executor.modstamp_scan(executor.object(sobject), query, include_deleted=include_deleted)
                is not None
            )
        ids = run(executor, soql, include_deleted=include_deleted, indexed=indexed)
        rows = executor.project(
            query, executor.execute(query, include_deleted=include_deleted), include_deleted=include_deleted
        )
        seen.extend(ids)
        if len(ids) < 97:
            return seen
        stamp = rows[-1]["SystemModstamp"].replace(".000+0000", "Z")
        last = rows[-1]["Id"]
        after = f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{last}'))"


@pytest.mark.parametrize("include_deleted", [False, True])
@pytest.mark.parametrize(
    ("sobject", "extra"),
    [
        ("Contact", ""),
        ("Lead", "IsConverted = false"),
        # fields written (read from the overlay) ORed with seeded ones (the record rendered), as a reader that
        # leaves out its own write-back asks
        ("Contact", "(DoNotCall = false OR Title = 'x' OR LastName LIKE 'A%' OR IsDeleted = true)"),
        ("Lead", "(DoNotCall = null OR DoNotCall = false) AND (Title != 'x' OR Title = null)"),
        (
            "Lead",
            "IsConverted = false AND SystemModstamp >= 2000-01-01T00:00:00Z AND (DoNotCall = false OR SystemModstamp > 2030-01-01T00:00:00Z)",
        ),
    ],
)
def test_keyset_pages_from_the_index_match_the_scan(
    org: tuple[Store, Executor], sobject: str, extra: str, include_deleted: bool
) -> None:
    """Paging with keyset conditions (and a residual filter) gives the same rows, in the same order."""
    _, executor = org
    fast = pages(executor, sobject, extra, include_deleted=include_deleted, indexed=True)
    slow = pages(executor, sobject, extra, include_deleted=include_deleted, indexed=False)
    assert fast == slow and len(fast) == len(set(fast))


@pytest.mark.parametrize("include_deleted", [False, True])
@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Contact ORDER BY SystemModstamp DESC, Id DESC LIMIT 1",
        "SELECT Id FROM Lead WHERE IsConverted = false ORDER BY SystemModstamp DESC, Id DESC LIMIT 5",
        "SELECT Id FROM Contact WHERE SystemModstamp > 2015-01-01T00:00:00Z ORDER BY SystemModstamp DESC, Id DESC",
        "SELECT Id FROM Contact WHERE (SystemModstamp < 2019-06-01T12:00:00Z OR (SystemModstamp = "
        "2019-06-01T12:00:00Z AND Id <= '003Sb00000000004')) ORDER BY SystemModstamp, Id LIMIT 40 OFFSET 7",
        "SELECT Id FROM Contact WHERE (SystemModstamp < 2026-01-01T00:00:00Z OR (SystemModstamp = "
        "2026-01-01T00:00:00Z AND Id <= '003Sb0000000005')) ORDER BY SystemModstamp DESC, Id DESC LIMIT 3",
    ],
)
def test_newest_first_and_keyset_upper_bounds_from_the_index_match_the_scan(
    org: tuple[Store, Executor], soql: str, include_deleted: bool
) -> None:
    """The newest row (where a read stops), descending pages and a keyset upper bound alone match the scan."""
    _, executor = org
    query = parse(soql)
    assert (
        executor.modstamp_scan(executor.object(query.sobject), query, include_deleted=include_deleted)
        is not None
    )
    fast = run(executor, soql, include_deleted=include_deleted, indexed=True)
    assert fast == run(executor, soql, include_deleted=include_deleted, indexed=False) and fast


def test_a_page_range_as_a_semi_join_selects_exactly_that_page(org: tuple[Store, Executor]) -> None:
    """`IN (SELECT … WHERE after AND through)` selects the rows of one page, served by the index."""
    _, executor = org
    first = parse("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id LIMIT 250")
    rows = executor.project(first, executor.execute(first, include_deleted=False), include_deleted=False)
    low, high = rows[99], rows[199]
    lo, hi = (row["SystemModstamp"].replace(".000+0000", "Z") for row in (low, high))
    inner = (
        f"SELECT Id FROM Contact WHERE (SystemModstamp > {lo} OR (SystemModstamp = {lo} AND Id > '{low['Id']}')) "
        f"AND (SystemModstamp < {hi} OR (SystemModstamp = {hi} AND Id <= '{high['Id']}'))"
    )
    query = parse(inner)
    assert executor.modstamp_scan(executor.object("Contact"), query, include_deleted=False, any_order=True)
    selected = {record["Id"] for record in executor.records(query, include_deleted=False)}
    assert selected == {row["Id"] for row in rows[100:200]}


def test_bounds_split_keyset_conditions_from_the_rest() -> None:
    """A keyset lower bound, a plain upper bound and a residual filter are told apart."""
    moment = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    where = parse(
        "SELECT Id FROM Lead WHERE IsConverted = false AND (SystemModstamp > 2024-05-01T10:30:00Z OR "
        "(SystemModstamp = 2024-05-01T10:30:00Z AND Id > '00QSb0000000001')) AND SystemModstamp <= 2025-01-01T00:00:00Z"
    ).where
    found = bounds(where)
    assert found.lower is not None and found.lower.key == micros(moment) and found.lower.tie is not None
    assert found.upper == Bound(micros(datetime(2025, 1, 1, tzinfo=UTC)), None, inclusive=True)
    assert found.rest == (Compare("IsConverted", "=", value=False),)


@pytest.mark.parametrize("include_deleted", [False, True])
def test_a_count_up_to_a_row_is_served_by_the_index_and_matches_the_scan(
    org: tuple[Store, Executor], include_deleted: bool
) -> None:
    """`SELECT COUNT()` up to a keyset row (a pull's size estimate) is answered from the index, as the scan does."""
    _, executor = org
    soql = (
        "SELECT COUNT() FROM Contact WHERE (SystemModstamp < 2019-06-01T12:00:00Z OR (SystemModstamp = "
        "2019-06-01T12:00:00Z AND Id <= '003Sb00000000004'))"
    )
    query = parse(soql)
    assert executor.modstamp_scan(
        executor.object("Contact"), query, include_deleted=include_deleted, any_order=True
    )
    fast = len(executor.execute(query, include_deleted=include_deleted))
    original = executor.modstamp_scan
    executor.modstamp_scan = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        slow = len(executor.execute(query, include_deleted=include_deleted))
    finally:
        executor.modstamp_scan = original  # type: ignore[method-assign]
    assert fast == slow and fast > 0
