"""The SOQL subset parser: statements the connector sends parse to the expected tree; others fail clearly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_sandbox.salesforce.soql import (
    BoolOp,
    Compare,
    DateRange,
    InList,
    InQuery,
    Like,
    Not,
    Order,
    SoqlError,
    parse,
)


def test_select_with_parent_fields_order_and_limit_parses() -> None:
    """Fields (with relationship paths), ORDER BY with directions and LIMIT end up in the query."""
    query = parse(
        "SELECT Id, Account.Type, Individual.HasOptedOutSolicit FROM Contact "
        "ORDER BY SystemModstamp DESC NULLS LAST, Id LIMIT 10 OFFSET 5"
    )
    assert query.fields == ("Id", "Account.Type", "Individual.HasOptedOutSolicit")
    assert query.sobject == "Contact"
    assert query.order == (Order("SystemModstamp", descending=True, nulls_last=True), Order("Id"))
    assert (query.limit, query.offset) == (10, 5)


def test_keywords_are_case_insensitive() -> None:
    """select/from/where in lower case parse like upper case."""
    query = parse("select id from lead where isconverted = false")
    assert query.where == Compare("isconverted", "=", value=False)


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    """`a OR b AND c` groups as `a OR (b AND c)`; parentheses change that."""
    plain = parse("SELECT Id FROM Contact WHERE DoNotCall = true OR Email != null AND LeadSource = 'Web'")
    assert isinstance(plain.where, BoolOp) and plain.where.op == "OR"
    assert isinstance(plain.where.items[1], BoolOp) and plain.where.items[1].op == "AND"
    grouped = parse("SELECT Id FROM Contact WHERE (DoNotCall = true OR Email != null) AND LeadSource = 'Web'")
    assert isinstance(grouped.where, BoolOp) and grouped.where.op == "AND"


def test_not_in_list_and_like_parse() -> None:
    """NOT, IN / NOT IN lists and LIKE become their nodes."""
    query = parse("SELECT Id FROM Lead WHERE NOT LeadSource IN ('Web', 'Other') AND Email LIKE '%@gmail.com'")
    assert isinstance(query.where, BoolOp)
    assert query.where.items[0] == Not(InList("LeadSource", ("Web", "Other"), negate=False))
    assert query.where.items[1] == Like("Email", "%@gmail.com")
    negated = parse("SELECT Id FROM Lead WHERE LeadSource NOT IN ('Web')")
    assert negated.where == InList("LeadSource", ("Web",), negate=True)


def test_a_semi_join_parses_its_sub_select() -> None:
    """`IN (SELECT ...)` holds a full sub-query."""
    query = parse(
        "SELECT Id FROM Contact WHERE AccountId IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)"
    )
    assert isinstance(query.where, InQuery)
    assert query.where.query.sobject == "Opportunity"
    assert query.where.query.where == Compare("IsWon", "=", value=True)


def test_date_and_datetime_literals_become_python_values() -> None:
    """Unquoted date and datetime literals (Z, +hh:mm and +hhmm offsets) are parsed and converted to UTC."""
    query = parse(
        "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01T02:00:00+02:00 AND Birthdate < 1990-05-01 "
        "AND SystemModstamp >= 2024-01-01T00:00:00Z AND LastModifiedDate < 2024-01-01T00:00:00.000+0000"
    )
    assert isinstance(query.where, BoolOp)
    values = [item.value for item in query.where.items if isinstance(item, Compare)]
    assert values[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert values[1] == date(1990, 5, 1)
    assert values[2] == values[3] == datetime(2024, 1, 1, tzinfo=UTC)


def test_relative_date_literals_become_ranges() -> None:
    """TODAY and LAST_N_DAYS:n are half-open day ranges relative to the given day."""
    query = parse("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:30", today=date(2024, 3, 31))
    assert query.where == Compare("CreatedDate", "=", DateRange(date(2024, 3, 1), date(2024, 4, 1)))


def test_escaped_quotes_in_strings_are_unescaped() -> None:
    """Backslash escapes as produced by simple_salesforce.format_soql are decoded."""
    query = parse(r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien'")
    assert query.where == Compare("LastName", "=", "O'Brien")


def test_count_parses() -> None:
    """SELECT COUNT() is recognised."""
    assert parse("SELECT COUNT() FROM Lead").count


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM Contact",
        "SELECT Id Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Email = ",
        "SELECT Id FROM Contact LIMIT ten",
        "SELECT Id FROM Contact WHERE Email ~ 'x'",
        "SELECT Id FROM Contact trailing",
    ],
)
def test_malformed_statements_raise_malformed_query(text: str) -> None:
    """Anything outside the grammar fails with errorCode MALFORMED_QUERY."""
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert caught.value.code == "MALFORMED_QUERY"
