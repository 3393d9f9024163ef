"""simple-salesforce's own Bulk API 2.0 client against the Salesforce sandbox: query jobs read by locator, update
jobs uploaded as CSV, their lifecycle, CSV format, errors and limits as Salesforce has them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=1200, leads=100, seed=5) as running:
        yield running


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Iterator[Salesforce]:
    session = sandbox.session()
    yield Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version="59.0")
    session.close()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def ids(sf: Salesforce, count: int, where: str = "") -> list[str]:
    found = sf.query(f"SELECT Id FROM Contact {where} ORDER BY Id LIMIT {count}")["records"]
    return [record["Id"] for record in found]


class TestQuery:
    STATEMENT = "SELECT Id, Email, HasOptedOutOfEmail, Title, SystemModstamp, Account.Type FROM Contact"

    def test_results_come_in_locator_chunks_of_max_records_as_salesforce_csv(self, sf: Salesforce) -> None:
        chunks = list(sf.bulk2.Contact.query(self.STATEMENT, max_records=500, wait=0))
        assert len(chunks) == 3, "1,200 rows in chunks of 500 by locator"
        parsed = [rows(chunk) for chunk in chunks]
        assert [len(chunk) for chunk in parsed] == [500, 500, 200]
        assert (
            chunks[0].splitlines()[0]
            == '"Id","Email","HasOptedOutOfEmail","Title","SystemModstamp","Account.Type"'
        )
        everything = [row for chunk in parsed for row in chunk]
        assert (
            len({row["Id"] for row in everything})
            == 1200
            == sf.query("SELECT COUNT() FROM Contact")["totalSize"]
        )
        assert {row["HasOptedOutOfEmail"] for row in everything} == {"true", "false"}
        assert all(STAMP.match(row["SystemModstamp"]) for row in everything)
        untitled = [row for row in everything if row["Title"] == ""]
        lines = "".join(chunks).splitlines()
        assert untitled and any(',"",' in line or line.endswith(',""') for line in lines), (
            "null: an empty cell"
        )
        sample = everything[7]
        rest = sf.query(
            f"SELECT Email, Title, SystemModstamp, Account.Type FROM Contact WHERE Id = '{sample['Id']}'"
        )
        record = rest["records"][0]
        assert sample["Email"] == (record["Email"] or "") and sample["Title"] == (record["Title"] or "")
        assert sample["SystemModstamp"] == record["SystemModstamp"]
        assert sample["Account.Type"] == ((record["Account"] or {}).get("Type") or "")

    def test_a_compound_field_fails_the_job_and_an_aggregate_is_refused(self, sf: Salesforce) -> None:
        with pytest.raises(SalesforceOperationError, match="MailingAddress"):
            list(sf.bulk2.Contact.query("SELECT Id, MailingAddress FROM Contact", wait=0))
        with pytest.raises(SalesforceError):
            list(sf.bulk2.Contact.query("SELECT COUNT() FROM Contact", wait=0))

    def test_results_wait_for_the_job_to_complete(self, sf: Salesforce) -> None:
        client = sf.bulk2.Contact._client
        job = client.create_job(Operation.query, query="SELECT Id FROM Contact")
        assert job["state"] == "UploadComplete"
        with pytest.raises(SalesforceError, match="INVALIDJOBSTATE"):
            client.get_query_results(job["id"])
        states = [client.get_job(job["id"], True)["state"] for _ in range(3)]
        assert states == ["InProgress", "JobComplete", "JobComplete"]
        assert client.get_query_results(job["id"], max_records=10)["number_of_records"] == 10


class TestIngest:
    def test_an_update_job_writes_rows_moves_systemmodstamp_and_fires_outbound_messages(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        chosen = ids(sf, 30, "WHERE Title = null")
        before = sandbox.state.record("Contact", chosen[0])
        assert before is not None
        fired: list[str] = []
        sandbox.state.store.listeners.append(lambda obj, record, *how: fired.append(str(record["Id"])))
        sandbox.state.clock.advance(seconds=5)
        try:
            done = sf.bulk2.Contact.update(
                records=[{"Id": record_id, "Title": "Bulk"} for record_id in chosen]
                + [{"Id": "003xx", "Title": "x"}],
                wait=0,
            )
        finally:
            sandbox.state.store.listeners.pop()
        assert done[0]["numberRecordsProcessed"] == 31 and done[0]["numberRecordsFailed"] == 1
        job_id = done[0]["job_id"]
        written = rows(sf.bulk2.Contact.get_successful_records(job_id))
        assert [row["sf__Id"][:15] for row in written] == [record_id[:15] for record_id in chosen]
        assert {row["sf__Created"] for row in written} == {"false"} and {row["Title"] for row in written} == {
            "Bulk"
        }
        failed = rows(sf.bulk2.Contact.get_failed_records(job_id))
        assert failed[0]["sf__Error"].startswith("MALFORMED_ID:") and failed[0]["Id"] == "003xx"
        unprocessed = sf.bulk2.Contact.get_unprocessed_records(job_id).splitlines()
        assert len(unprocessed) == 1 and set(unprocessed[0].split(",")) == {'"Id"', '"Title"'}, (
            "a header only"
        )
        after = sandbox.state.record("Contact", chosen[0])
        assert (
            after is not None
            and after["Title"] == "Bulk"
            and after["SystemModstamp"] > before["SystemModstamp"]
        )
        assert {record_id[:15] for record_id in chosen} <= {record_id[:15] for record_id in fired}

    def test_a_column_the_user_cannot_see_fails_the_job_as_invalid_batch(self, sf: Salesforce) -> None:
        with pytest.raises(SalesforceOperationError, match="InvalidBatch : Field name not found : NoSuch__c"):
            sf.bulk2.Contact.update(records=[{"Id": ids(sf, 1)[0], "NoSuch__c": "x"}], wait=0)

    def test_a_read_only_field_fails_each_row_and_null_is_hash_na(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        chosen = ids(sf, 2, "WHERE Title != null")
        done = sf.bulk2.Contact.update(
            records=[
                {"Id": chosen[0], "CreatedDate": "2020-01-01T00:00:00.000Z"},
                {"Id": chosen[1], "Title": "#N/A"},
            ],
            wait=0,
        )
        failed = rows(sf.bulk2.Contact.get_failed_records(done[0]["job_id"]))
        assert [row["sf__Error"].split(":")[0] for row in failed] == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
        cleared = sandbox.state.record("Contact", chosen[1])
        assert cleared is not None and cleared["Title"] is None

    def test_line_endings_uploads_and_states_are_checked(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        client = sf.bulk2.Contact._client
        record_id = ids(sf, 1)[0]
        crlf = client.create_job(Operation.update)
        client.upload_job_data(crlf["id"], f"Id,Title\r\n{record_id},Windows\r\n")
        with pytest.raises(SalesforceError, match="Found multiple contents"):
            client.upload_job_data(crlf["id"], f"Id,Title\n{record_id},Again\n")
        client.close_job(crlf["id"])
        client.get_job(crlf["id"], False)
        info = client.get_job(crlf["id"], False)
        assert info["state"] == "Failed" and "LineEnding is invalid" in info["errorMessage"]
        with pytest.raises(SalesforceError, match="INVALIDJOBSTATE"):
            client.upload_job_data(crlf["id"], f"Id,Title\n{record_id},Late\n")

        broken = client.create_job(Operation.update)
        client.upload_job_data(broken["id"], f'Id,Title\n{record_id},"unterminated\n')
        client.close_job(broken["id"])
        client.get_job(broken["id"], False)
        assert client.get_job(broken["id"], False)["state"] == "Failed"

    def test_a_job_aborted_before_it_runs_writes_nothing_and_lists_its_rows_unprocessed(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        client = sf.bulk2.Contact._client
        record_id = ids(sf, 60, "WHERE Title = null")[-1]
        job = client.create_job(Operation.update)
        client.upload_job_data(job["id"], f"Id,Title\n{record_id},Aborted\n")
        client.close_job(job["id"])
        with pytest.raises(SalesforceError, match="INVALIDJOBSTATE"):
            client.get_ingest_results(job["id"], "successfulResults")
        client.abort_job(job["id"], False)
        assert client.get_job(job["id"], False)["state"] == "Aborted"
        unprocessed = rows(client.get_ingest_results(job["id"], "unprocessedrecords"))
        assert unprocessed == [{"Id": record_id, "Title": "Aborted"}]
        record = sandbox.state.record("Contact", record_id)
        assert record is not None and record["Title"] != "Aborted"


def test_every_bulk_request_spends_the_daily_limit_and_jobs_spend_bulk_allocations(
    sf: Salesforce, sandbox: SalesforceSandbox
) -> None:
    def limits() -> dict[str, Any]:
        answer: dict[str, Any] = sf.restful("limits")
        return answer

    before = limits()
    used = sandbox.state.api_used
    sf.bulk2.Contact.update(
        records=[{"Id": record_id, "Title": "Limits"} for record_id in ids(sf, 3)], wait=0
    )
    list(sf.bulk2.Contact.query("SELECT Id FROM Contact", wait=0))
    after = limits()
    assert after["DailyBulkApiBatches"]["Remaining"] == before["DailyBulkApiBatches"]["Remaining"] - 1
    assert after["DailyBulkV2QueryJobs"]["Remaining"] == before["DailyBulkV2QueryJobs"]["Remaining"] - 1
    assert sandbox.state.api_used - used >= 8, "create, upload, close, polls, query, results: each a request"
