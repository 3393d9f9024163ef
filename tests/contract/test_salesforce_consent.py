"""The consent data model over real HTTP: the sandbox answers simple-salesforce as an org with Data Protection
and Privacy does (describe, the semi-join on PartyId with `DataUsePurpose.Name`, field-level security), and the
adapter reads it with one query per page, refuses clearly when it may not, and `mappings check` names purposes
the mapping does not place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.crm.salesforce import SalesforceCrm
from connector.crm.salesforce.consent import consent_statement
from connector.errors import ConfigurationError
from connector.mapping.check import check_mapping
from connector.mapping.consent_records import DATA_USE_PURPOSES, RECORDS_FIELD, ConsentRecord
from connector.mapping.load import load_mapping
from connector.settings import SalesforceConfig
from crm_sandbox.salesforce.consent_seed import CONSENT_SLOTS, EMAIL_MARKETING
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

MAPPING = load_mapping("salesforce")

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=2500, seed=5, connector_fields=True) as running:
        yield running


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        instance_url=sandbox.base_url, session_id=sandbox.token, session=sandbox.session(), version="59.0"
    )


def adapter(sandbox: SalesforceSandbox) -> SalesforceCrm:
    config = SalesforceConfig(
        auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=1000
    )
    return SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)


def test_describe_lists_the_consent_fields_with_their_restricted_picklists(sf: Salesforce) -> None:
    fields = {field["name"]: field for field in sf.ContactPointTypeConsent.describe()["fields"]}
    assert {"PartyId", "ContactPointType", "PrivacyConsentStatus", "DataUsePurposeId", "EffectiveFrom",
            "EffectiveTo", "CaptureDate", "CaptureSource", "CaptureContactPointType"} <= set(fields)  # fmt: skip
    status = fields["PrivacyConsentStatus"]
    assert status["restrictedPicklist"] and [v["value"] for v in status["picklistValues"]] == [
        "OptIn", "OptOut", "Seen", "NotSeen",
    ]  # fmt: skip
    assert (
        fields["PartyId"]["referenceTo"] == ["Individual"]
        and fields["PartyId"]["relationshipName"] == "Party"
    )
    assert fields["DataUsePurposeId"]["relationshipName"] == "DataUsePurpose"
    assert fields["EffectiveTo"]["type"] == "datetime"


def test_the_page_query_answers_the_rows_of_the_selected_records_individuals(sf: Salesforce) -> None:
    """The adapter's own statement: a semi-join on IndividualId of the page, with the purpose's name."""
    ids = [make_id("003", index) for index in range(40)]
    statement = consent_statement("Contact", [f"Id IN ({','.join(repr(i) for i in ids)})"])
    rows = sf.query_all(statement)["records"]
    individuals = {
        row["IndividualId"]
        for row in sf.query_all(f"SELECT IndividualId FROM Contact WHERE Id IN ({','.join(repr(i) for i in ids)})")[
            "records"
        ]
        if row["IndividualId"]
    }  # fmt: skip
    assert rows and {row["PartyId"] for row in rows} <= individuals
    by_scan = [
        row for row in sf.query_all("SELECT Id, PartyId FROM ContactPointTypeConsent")["records"]
        if row["PartyId"] in individuals
    ]  # fmt: skip
    assert sorted(row["Id"] for row in rows) == sorted(row["Id"] for row in by_scan), (
        "the same rows as a scan"
    )
    assert {row["DataUsePurpose"]["Name"] for row in rows} <= {
        "Email Marketing",
        "Telemarketing",
        "Service Updates",
    }
    assert {row["PrivacyConsentStatus"] for row in rows} <= {"OptIn", "OptOut", "Seen", "NotSeen"}


def test_a_wrong_picklist_value_or_an_unknown_field_is_refused_as_salesforce_does(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.ContactPointTypeConsent.create(
            {"Name": "x", "PartyId": make_id("0PK", 1), "PrivacyConsentStatus": "Maybe"}
        )
    assert refused.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Id, ConsentLevel FROM ContactPointTypeConsent")
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_pull_reads_each_pages_consent_rows_with_one_query(sandbox: SalesforceSandbox) -> None:
    crm = adapter(sandbox)
    sandbox.state.reset_counters()
    pages = list(crm.pull("Contact", since=None))
    assert len(pages) == 3
    consent_queries = [
        entry for entry in sandbox.state.request_log if entry["endpoint"] == "query"
    ]  # won deals and consents
    assert len(consent_queries) == 2 * len(pages)
    records = [record for page in pages for record in page.records]
    held = [record.fields[RECORDS_FIELD] for record in records]
    assert all(isinstance(rows, tuple) for rows in held)
    rows = [row for found in held for row in found]
    assert all(isinstance(row, ConsentRecord) for row in rows)
    assert {row.state for row in rows} == {"in_effect", "ended"}, "the seed has rows that ended"
    seeded = sum(
        1
        for index in range(2500 * CONSENT_SLOTS)
        if sandbox.state.record("ContactPointTypeConsent", make_id("0ZY", index)) is not None
    )
    assert len(rows) == seeded, "every contact's Individual's rows, each once"


def test_a_consent_field_hidden_from_the_integration_user_stops_the_read_naming_the_object(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    with_individual = sf.query("SELECT Id FROM Contact WHERE IndividualId != null LIMIT 3")["records"]
    sandbox.state.store.restrict("ContactPointTypeConsent", "PrivacyConsentStatus")
    try:
        with pytest.raises(ConfigurationError) as refused:
            adapter(sandbox).read("Contact", [row["Id"] for row in with_individual])
    finally:
        sandbox.state.store.unrestrict("ContactPointTypeConsent", "PrivacyConsentStatus")
    assert "ContactPointTypeConsent" in str(refused.value) and "data_use_purposes" in str(refused.value)
    assert refused.value.problems == ("ContactPointTypeConsent.PrivacyConsentStatus",)


def test_mappings_check_names_the_purposes_the_mapping_does_not_place(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    crm = adapter(sandbox)

    def problems() -> list[Any]:
        described = {name: crm.describe(name) for name in MAPPING.objects}
        found = check_mapping(MAPPING, described, crm.value_counts)
        return [p for p in found if p.field == DATA_USE_PURPOSES]

    assert problems() == [], "the seeded purposes are all placed"
    created = sf.DataUsePurpose.create({"Name": "Partner Offers"})
    crm = adapter(sandbox)
    try:
        found = problems()
        assert {(p.object_type, p.kind) for p in found} == {
            ("Contact", "unplaced_purpose"),
            ("Lead", "unplaced_purpose"),
        }
        assert all("Partner Offers" in p.detail for p in found)
    finally:
        sf.DataUsePurpose.delete(created["id"])


def test_consent_rows_of_one_individual_come_back_on_a_read_by_id(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    contact = next(
        row for row in sf.query("SELECT Id, IndividualId FROM Contact WHERE IndividualId != null LIMIT 1")["records"]
    )  # fmt: skip
    created = sf.ContactPointTypeConsent.create({
        "Name": "Email OptIn", "PartyId": contact["IndividualId"], "ContactPointType": "Email",
        "PrivacyConsentStatus": "OptIn", "DataUsePurposeId": EMAIL_MARKETING,
        "CaptureDate": "2026-01-05T10:00:00.000+0000", "EffectiveFrom": "2026-01-05T10:00:00.000+0000",
    })  # fmt: skip
    try:
        [record] = adapter(sandbox).read("Contact", [contact["Id"]])
        mine = [
            row
            for row in record.fields[RECORDS_FIELD]
            if row.captured and row.captured.isoformat() == "2026-01-05"
        ]
        assert [(row.channel, row.status, row.purpose, row.state) for row in mine] == [
            ("email", "OptIn", "Email Marketing", "in_effect")
        ]
    finally:
        sf.ContactPointTypeConsent.delete(created["id"])
