"""The real simple-salesforce against the Salesforce sandbox's strictness: what an org refuses (unknown keys,
retired versions, expired locators, a wrong client secret, required fields, the org's own rules, hidden
standard fields) and what vanishes (the recycle bin after 15 days, getDeleted beyond 30). Each test fails on a
sandbox that accepts or keeps more than Salesforce does."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

CONTACTS = 600


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    """A fresh org per test: tests here move the clock, add rules and restrict fields."""
    with running_salesforce(contacts=CONTACTS, leads=50, seed=5) as running:
        yield running


def client(sandbox: SalesforceSandbox, version: str = "59.0") -> Salesforce:
    """simple-salesforce on the sandbox at an API version."""
    session = sandbox.session(login_hosts=())
    return Salesforce(
        instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version=version
    )


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Salesforce:
    return client(sandbox)


def first_ids(sf: Salesforce, count: int) -> list[str]:
    return [r["Id"] for r in sf.query(f"SELECT Id FROM Contact ORDER BY Id LIMIT {count}")["records"]]


def patch(sf: Salesforce, *records: dict[str, Any]) -> list[dict[str, Any]]:
    """One sObject Collections update; the per-record results."""
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, **r} for r in records]}
    result: list[dict[str, Any]] = sf.restful("composite/sobjects", method="PATCH", json=body)
    return result


def codes(results: list[dict[str, Any]]) -> list[str | None]:
    return [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]


def error_code(exc: pytest.ExceptionInfo[Exception]) -> str:
    content = getattr(exc.value, "content", None)
    return str(content[0]["errorCode"]) if isinstance(content, list) else ""


class TestRefusals:
    def test_an_unknown_key_in_a_collections_body_is_refused(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """`allOrNothing` (misspelt) is a 400 JSON_PARSER_ERROR, not a silently partial write."""
        [record_id] = first_ids(sf, 1)
        body = {
            "allOrNothing": True,
            "records": [{"attributes": {"type": "Contact"}, "id": record_id, "Title": "X"}],
        }
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.restful("composite/sobjects", method="PATCH", json=body)
        assert error_code(caught) == "JSON_PARSER_ERROR"
        assert sandbox.state.record("Contact", record_id)["Title"] != "X"  # type: ignore[index]

    def test_only_supported_api_versions_answer(self, sandbox: SalesforceSandbox) -> None:
        """v59.0 answers; retired v20.0 is 410; v99.0 does not exist (404); `/services/data/` lists versions."""
        assert client(sandbox, "59.0").query("SELECT Id FROM Contact LIMIT 1")["totalSize"] == 1
        with pytest.raises(SalesforceGeneralError) as retired:
            client(sandbox, "20.0").query("SELECT Id FROM Contact LIMIT 1")
        assert retired.value.status == 410
        with pytest.raises(SalesforceResourceNotFound):
            client(sandbox, "99.0").query("SELECT Id FROM Contact LIMIT 1")
        listed = requests.get(f"{sandbox.base_url}/services/data/", timeout=5).json()
        assert "59.0" in [v["version"] for v in listed] and "20.0" not in [v["version"] for v in listed]

    def test_a_query_locator_expires_after_fifteen_idle_minutes(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """The next page of a query left alone for 16 minutes is INVALID_QUERY_LOCATOR."""
        first = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=200"})
        assert first["done"] is False
        sandbox.state.clock.advance(minutes=16)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        assert error_code(caught) == "INVALID_QUERY_LOCATOR"

    def test_opening_an_eleventh_cursor_releases_the_oldest(self, sf: Salesforce) -> None:
        """A user holds 10 open query cursors; the 11th releases the first."""
        pages = [sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=200"})
                 for _ in range(11)]  # fmt: skip
        sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query_more(pages[0]["nextRecordsUrl"], identifier_is_url=True)
        assert error_code(caught) == "INVALID_QUERY_LOCATOR"

    def test_a_refresh_with_the_wrong_client_secret_is_refused(self, sandbox: SalesforceSandbox) -> None:
        """The refresh-token grant checks the connected app's client id and secret."""
        form = {"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token",
                "client_id": "sandbox-client-id", "client_secret": "wrong"}  # fmt: skip
        answer = requests.post(f"{sandbox.base_url}/services/oauth2/token", data=form, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"
        right = requests.post(f"{sandbox.base_url}/services/oauth2/token",
                              data={**form, "client_secret": "sandbox-client-secret"}, timeout=5)  # fmt: skip
        assert right.status_code == 200

    def test_a_required_field_cannot_be_nulled(self, sf: Salesforce) -> None:
        """`LastName: null` fails REQUIRED_FIELD_MISSING, by PATCH and per record in a collection."""
        first, second = first_ids(sf, 2)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Contact.update(first, {"LastName": None})
        assert error_code(caught) == "REQUIRED_FIELD_MISSING"
        results = patch(sf, {"id": first, "LastName": None}, {"id": second, "Title": "Ok"})
        assert codes(results) == ["REQUIRED_FIELD_MISSING", None]


class TestOrgRules:
    def test_a_validation_rule_refuses_the_records_it_matches(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """A rule on the data fails the records it matches with its message; the others are written."""
        sandbox.state.rules.add("validation", object="Contact", name="No_Interns", field="Title",
                                condition="Title = 'Intern' AND DoNotCall = false", message="Interns must not be called")  # fmt: skip
        first, second = first_ids(sf, 2)
        results = patch(sf, {"id": first, "Title": "Intern", "DoNotCall": False}, {"id": second, "Title": "Intern",
                                                                                 "DoNotCall": True})  # fmt: skip
        assert codes(results) == ["FIELD_CUSTOM_VALIDATION_EXCEPTION", None]
        assert results[0]["errors"][0]["message"] == "Interns must not be called"
        assert sandbox.state.record("Contact", first)["Title"] != "Intern"  # type: ignore[index]

    def test_rules_can_be_added_over_http(self, sf: Salesforce, sandbox: SalesforceSandbox) -> None:
        """The admin endpoint takes the same rule as the Python API."""
        rule = {
            "kind": "validation",
            "object": "Contact",
            "name": "R",
            "condition": "Title = 'Nope'",
            "message": "m",
        }
        assert requests.post(f"{sandbox.base_url}/__sandbox/rules", json=rule, timeout=5).status_code == 200
        assert codes(patch(sf, {"id": first_ids(sf, 1)[0], "Title": "Nope"})) == [
            "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        ]

    def test_a_duplicate_rule_blocks_a_second_record_with_the_same_email(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """Creating, or editing into, a duplicate of a live contact's e-mail fails DUPLICATES_DETECTED."""
        sandbox.state.rules.add("duplicate", object="Contact", name="Same_Email", fields=["Email"])
        first, second = first_ids(sf, 2)
        sf.Contact.update(first, {"Email": "shared.address@example.org"})
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Contact.create({"LastName": "Twin", "Email": "Shared.Address@example.org"})
        assert error_code(caught) == "DUPLICATES_DETECTED"
        assert codes(patch(sf, {"id": second, "Email": "shared.address@example.org"})) == [
            "DUPLICATES_DETECTED"
        ]

    def test_a_trigger_sets_its_values_in_the_same_save(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """A trigger's field change lands with the API write, moving SystemModstamp once."""
        sandbox.state.rules.add("trigger", object="Contact", name="Stamp", values={"Lead_Source_Detail__c": "touched"},
                                condition="DoNotCall = true")  # fmt: skip
        first, second = first_ids(sf, 2)
        patch(sf, {"id": first, "DoNotCall": True}, {"id": second, "DoNotCall": False})
        assert sandbox.state.record("Contact", first)["Lead_Source_Detail__c"] == "touched"  # type: ignore[index]
        assert sandbox.state.record("Contact", second)["Lead_Source_Detail__c"] != "touched"  # type: ignore[index]

    def test_a_restricted_standard_field_is_unknown_to_the_integration_user(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """Without read access to Contact.Email: describe leaves it out, a query naming it fails INVALID_FIELD."""
        sandbox.state.store.restrict("Contact", "Email")
        assert "Email" not in {f["name"] for f in sf.Contact.describe()["fields"]}
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id, Email FROM Contact LIMIT 1")
        assert error_code(caught) == "INVALID_FIELD"


class TestVanishing:
    def test_the_recycle_bin_empties_after_fifteen_days(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """queryAll returns a deleted row with IsDeleted for 15 days, then never again."""
        [record_id] = first_ids(sf, 1)
        sf.Contact.delete(record_id)
        soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{record_id}'"
        assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True
        sandbox.state.clock.advance(days=14)
        assert sf.query_all(soql, include_deleted=True)["totalSize"] == 1
        sandbox.state.clock.advance(days=2)
        assert sf.query_all(soql, include_deleted=True)["totalSize"] == 0
        with pytest.raises(SalesforceResourceNotFound):
            sf.Contact.get(record_id)

    def test_get_deleted_refuses_a_start_beyond_thirty_days(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """getDeleted answers within 30 days (INVALID_REPLICATION_DATE beyond) and only what the bin still holds."""
        [record_id] = first_ids(sf, 1)
        sf.Contact.delete(record_id)
        now = sandbox.state.clock.now()
        found = sf.Contact.deleted(now - timedelta(days=1), now + timedelta(minutes=1))
        assert [row["id"] for row in found["deletedRecords"]] == [record_id]
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Contact.deleted(now - timedelta(days=31), now)
        assert error_code(caught) == "INVALID_REPLICATION_DATE"
        sandbox.state.clock.advance(days=16)
        later = sandbox.state.clock.now()
        assert sf.Contact.deleted(later - timedelta(days=29), later)["deletedRecords"] == []


class TestPeerApis:
    """What third-party connectors call: getUpdated, Bulk API 2.0 query, compound addresses."""

    def test_get_updated_lists_the_ids_changed_in_the_window(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        [record_id] = first_ids(sf, 1)
        start = sandbox.state.clock.now() - timedelta(seconds=1)
        sf.Contact.update(record_id, {"Title": "Changed"})
        assert sf.Contact.updated(start, sandbox.state.clock.now() + timedelta(seconds=1))["ids"] == [
            record_id
        ]

    def test_bulk2_query_returns_every_contact_as_csv_chunks(self, sf: Salesforce) -> None:
        """sf.bulk2 query jobs run, poll to JobComplete and page results by locator."""
        chunks = list(
            sf.bulk2.Contact.query("SELECT Id, Email, Account.Type FROM Contact", max_records=250, wait=0)
        )
        rows = [row for chunk in chunks for row in csv.DictReader(io.StringIO(str(chunk)))]
        assert len(chunks) >= 3 and len(rows) == sf.query("SELECT COUNT() FROM Contact")["totalSize"]
        assert set(rows[0]) == {"Id", "Email", "Account.Type"}

    def test_mailing_address_is_a_compound_field(self, sf: Salesforce) -> None:
        """`MailingAddress` reads as an object of its parts and is described as type address."""
        record = sf.query(
            "SELECT MailingAddress, MailingCountry FROM Contact WHERE MailingCountry != null LIMIT 1"
        )
        address = record["records"][0]["MailingAddress"]
        assert address["country"] == record["records"][0]["MailingCountry"]
        described = {f["name"]: f for f in sf.Contact.describe()["fields"]}
        assert (
            described["MailingAddress"]["type"] == "address" and not described["MailingAddress"]["updateable"]
        )


def test_header_names_are_spelled_as_salesforce_spells_them(
    sf: Salesforce, sandbox: SalesforceSandbox
) -> None:
    """`Content-Type` and `Sforce-Limit-Info`, not lower case: clients that copy headers into a plain dict
    (Airbyte's CDK reading Bulk API 2.0 results) look them up by that spelling."""
    answer = sandbox.session().get(
        f"{sandbox.base_url}/services/data/v59.0/limits/",
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=5,
    )
    assert {"Content-Type", "Sforce-Limit-Info"} <= set(dict(answer.headers))
