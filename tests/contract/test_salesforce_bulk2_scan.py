"""A Bulk API 2.0 query job that must look at every record runs a slice per poll: it stays InProgress until the
scan is over, then answers exactly the rows, order and CSV cells a REST query of the same SOQL gives."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceError

from crm_sandbox.salesforce import bulk_query
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=3500, leads=100, seed=6) as running:
        yield running


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Iterator[Salesforce]:
    session = sandbox.session()
    yield Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version="59.0")
    session.close()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def bulk_rows(sf: Salesforce, soql: str, *, polls: list[str]) -> list[list[str]]:
    client = sf.bulk2.Opportunity._client
    job = client.create_job(Operation.query, query=soql)
    assert job["state"] == "UploadComplete"
    while (state := client.get_job(job["id"], True)["state"]) not in ("JobComplete", "Failed"):
        polls.append(state)
        with pytest.raises(SalesforceError, match="INVALIDJOBSTATE"):
            client.get_query_results(job["id"])
    polls.append(state)
    out: list[list[str]] = []
    locator = ""
    while True:
        chunk = client.get_query_results(job["id"], locator=locator, max_records=400)
        out += list(csv.reader(io.StringIO(chunk["records"])))[1:]
        if chunk["locator"] in ("", "null", None):
            return out
        locator = chunk["locator"]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, AccountId, Account.Type, CloseDate, Amount FROM Opportunity WHERE IsWon = true",
        "SELECT Id, Name FROM Account WHERE Type = 'Prospect' ORDER BY Id LIMIT 300 OFFSET 20",
        "SELECT Id, Email FROM Contact WHERE HasOptedOutOfEmail = true",
    ],
)
def test_a_sliced_scan_stays_in_progress_then_answers_as_rest(
    sf: Salesforce, monkeypatch: pytest.MonkeyPatch, soql: str
) -> None:
    monkeypatch.setattr(bulk_query, "SCAN_SLICE_S", 0.0)  # the least work a poll does: a slice of records
    polls: list[str] = []
    got = bulk_rows(sf, soql, polls=polls)
    fields = [name.strip() for name in soql.split("FROM")[0].removeprefix("SELECT").split(",")]
    expected = []
    for record in sf.query_all(soql)["records"]:
        row = []
        for name in fields:
            value: Any = record
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            row.append(cell(value))
        expected.append(row)
    slices = 1 if "LIMIT" in soql else 3  # a LIMIT ends the scan at the row that fills it
    assert polls[-1] == "JobComplete" and polls.count("InProgress") >= slices
    assert got == expected and len(got) > 50
