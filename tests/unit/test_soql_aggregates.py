"""The Salesforce emulator's aggregate SOQL: GROUP BY, COUNT/MAX/MIN/SUM, aliases and AggregateResult rows."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from crm_sandbox.salesforce.aggregate import aggregate
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import Executor
from crm_sandbox.salesforce.soql import Aggregate, Field, SoqlError, parse
from crm_sandbox.salesforce.store import Store


@pytest.fixture(scope="module")
def executor() -> Executor:
    return Executor(Store(seed=4, contacts=400, leads=100))


def rows(executor: Executor, soql: str) -> list[dict[str, object]]:
    return aggregate(executor, parse(soql), include_deleted=False)


def test_select_items_keep_aggregates_aliases_and_group_by() -> None:
    """`SELECT f a, COUNT(Id) n ... GROUP BY f` parses into items, aliases and the group paths."""
    query = parse(
        "SELECT Account.Type kind, COUNT(Id) n, MAX(CreatedDate) FROM Contact GROUP BY Account.Type"
    )
    assert query.items == (
        Field("Account.Type", "kind"),
        Aggregate("COUNT", "Id", "n"),
        Aggregate("MAX", "CreatedDate"),
    )
    assert query.fields == ("Account.Type",) and query.group_by == ("Account.Type",) and query.grouped
    assert parse("SELECT COUNT() FROM Lead").count and not parse("SELECT COUNT() FROM Lead").grouped


@pytest.mark.parametrize(
    "text",
    [
        "SELECT LeadSource, COUNT(Id) FROM Contact",
        "SELECT Id alias FROM Contact",
        "SELECT FOO(Id) FROM Contact",
        "SELECT LeadSource, COUNT(Id) FROM Contact GROUP BY LeadSource ORDER BY LeadSource",
    ],
)
def test_ungrouped_fields_aliases_outside_aggregates_and_unknown_functions_are_malformed(text: str) -> None:
    """Plain fields must be grouped, aliases need an aggregate query, functions must exist."""
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert caught.value.code == "MALFORMED_QUERY"


def test_group_by_counts_match_the_records(executor: Executor) -> None:
    """COUNT(Id) per LeadSource equals a count over the records, text grouped case-insensitively."""
    counted = rows(executor, "SELECT LeadSource src, COUNT(Id) n FROM Contact GROUP BY LeadSource")
    truth: Counter[str | None] = Counter()
    for index in range(400):
        record = executor.store.get("Contact", index)
        assert record is not None
        source = record["LeadSource"]
        truth[source.lower() if source else None] += 1
    got = {(row["src"].lower() if isinstance(row["src"], str) else None): row["n"] for row in counted}
    assert got == dict(truth)
    assert all(row["attributes"] == {"type": "AggregateResult"} for row in counted)


def test_parent_groups_are_keyed_by_the_field_name_and_unaliased_aggregates_by_expr(
    executor: Executor,
) -> None:
    """`Account.Type` comes back as `Type`; `COUNT(Id)` without alias as `expr0`; LIMIT cuts groups."""
    counted = rows(executor, "SELECT Account.Type, COUNT(Id) FROM Contact GROUP BY Account.Type LIMIT 3")
    assert len(counted) == 3 and all(set(row) == {"attributes", "Type", "expr0"} for row in counted)


def test_max_close_date_per_account_through_a_semi_join(executor: Executor) -> None:
    """MAX(CloseDate) of won deals per account of some contacts, selected by a semi-join."""
    ids = ", ".join(f"'{make_id('003', index)}'" for index in range(60))
    found = rows(
        executor,
        "SELECT AccountId, MAX(CloseDate) lastWon FROM Opportunity WHERE IsWon = true AND AccountId IN "
        f"(SELECT AccountId FROM Contact WHERE Id IN ({ids})) GROUP BY AccountId",
    )
    expected = {}
    for index in range(60):
        deal = executor.store.get("Opportunity", index)
        if deal and deal["AccountId"]:
            expected[deal["AccountId"]] = deal["CloseDate"].isoformat()
    assert {row["AccountId"]: row["lastWon"] for row in found} == expected and expected


def test_lookup_index_answers_exactly_as_a_scan_with_created_and_reparented_deals() -> None:
    """The lookup index behind `AccountId IN (SELECT ...)` finds deals created or moved through the API too."""
    store = Store(seed=4, contacts=300, leads=0)
    executor = Executor(store)
    owners = [index for index in range(0, 300, 3) if store.get("Account", index)]
    first = next(index for index in owners if store.get("Opportunity", index))  # has a won deal of its own
    accounts = [make_id("001", index) for index in (first, *(index for index in owners if index != first))]
    moved = next(index for index in range(1, 300, 3) if store.get("Opportunity", index))
    store.update("Opportunity", moved, {"AccountId": accounts[0]})
    created = store.create(
        "Opportunity", {"Name": "new", "AccountId": accounts[1], "IsWon": True, "CloseDate": date(2031, 1, 2)}
    )
    ids = ", ".join(f"'{account}'" for account in accounts)
    soql = (
        "SELECT AccountId, MAX(CloseDate) lastWon, COUNT(Id) n FROM Opportunity WHERE IsWon = true AND "
        f"AccountId IN (SELECT Id FROM Account WHERE Id IN ({ids})) GROUP BY AccountId"
    )
    assert store.referencing("Opportunity", "AccountId", set(accounts)) is not None
    indexed = rows(executor, soql)
    expected: dict[str, tuple[str, int]] = {}
    for index in store.indexes("Opportunity"):
        deal = store.get("Opportunity", index)
        if deal and deal["IsWon"] and deal["AccountId"] in accounts:
            latest, count = expected.get(deal["AccountId"], ("", 0))
            expected[deal["AccountId"]] = (max(latest, deal["CloseDate"].isoformat()), count + 1)
    assert {row["AccountId"]: (row["lastWon"], row["n"]) for row in indexed} == expected
    assert expected[accounts[0]][1] >= 2 and expected[accounts[1]] == ("2031-01-02", expected[accounts[1]][1])
    assert created


def test_without_group_by_there_is_one_row_even_when_nothing_matches(executor: Executor) -> None:
    """An aggregate over no records answers COUNT 0 and MAX null."""
    (row,) = rows(executor, "SELECT COUNT(Id), MAX(CloseDate) FROM Opportunity WHERE IsWon = false")
    assert (row["expr0"], row["expr1"]) == (0, None)


def test_long_text_and_booleans_refuse_what_salesforce_refuses(executor: Executor) -> None:
    """MAX of a checkbox and SUM of text are INVALID_FIELD."""
    for soql in ("SELECT MAX(DoNotCall) FROM Contact", "SELECT SUM(LeadSource) FROM Contact"):
        with pytest.raises(SoqlError) as caught:
            rows(executor, soql)
        assert caught.value.code == "INVALID_FIELD"
