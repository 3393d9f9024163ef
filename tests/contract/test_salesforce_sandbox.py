"""The real simple-salesforce, over real HTTP, against the Salesforce sandbox: every call the connector makes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

CONTACTS = 5200
LOGIN_HOST = "acme.my.salesforce.com"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    """One seeded emulator for the whole module."""
    with running_salesforce(contacts=CONTACTS, leads=600, seed=7) as running:
        yield running


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Iterator[Salesforce]:
    """A simple-salesforce client on the sandbox, with faults and quota reset after each test."""
    session = sandbox.session(login_hosts=(LOGIN_HOST, "login.salesforce.com"))
    yield Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version="59.0")
    session.close()
    sandbox.state.faults.configure(error_rate=0.0, storm_remaining=0, record_error_rate=0.0, drop_rate=0.0)
    sandbox.state.api_used = 0
    sandbox.state.add_token(sandbox.token)


def contact_ids(sf: Salesforce, count: int, where: str = "") -> list[str]:
    """The first `count` contact ids (optionally filtered)."""
    result = sf.query(f"SELECT Id FROM Contact {where} ORDER BY Id LIMIT {count}")
    return [record["Id"] for record in result["records"]]


def update(record_id: str, **values: Any) -> dict[str, Any]:
    """One Contact entry of a composite/sobjects body."""
    return {"attributes": {"type": "Contact"}, "id": record_id, **values}


class TestQuery:
    """query / queryAll paging, parent fields, semi-joins and errors."""

    def test_query_all_pages_to_the_end_of_all_contacts(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """query_all follows nextRecordsUrl through 2,000-row pages to every record."""
        sandbox.state.reset_counters()
        result = sf.query_all("SELECT Id, Email, SystemModstamp FROM Contact")
        ids = [record["Id"] for record in result["records"]]
        assert result["totalSize"] == len(ids) == len(set(ids)) >= CONTACTS - 5
        assert sandbox.state.counters["GET queryMore"] == 2

    def test_incremental_sync_pages_in_modstamp_order_and_sees_a_later_write_once(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """WHERE SystemModstamp >= t ORDER BY SystemModstamp, Id (served by the index) pages like the scan."""
        soql = "SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp {} {} ORDER BY SystemModstamp, Id"
        for call in (sf.query_all, sf.query_all_iter):
            result = call(soql.format(">", "2019-01-01T00:00:00Z"), include_deleted=True)
            records = list(result["records"] if isinstance(result, dict) else result)
            stamps = [(record["SystemModstamp"], record["Id"].lower()) for record in records]
            assert len(records) > 2000 and stamps == sorted(stamps)
        count = sf.query("SELECT COUNT() FROM Contact WHERE SystemModstamp > 2019-01-01T00:00:00Z")[
            "totalSize"
        ]
        first = sf.query_all(soql.format(">", "2019-01-01T00:00:00Z"))
        assert first["totalSize"] == len(first["records"]) == count
        cursor = first["records"][-1]["SystemModstamp"].replace("+0000", "Z")
        written = first["records"][0]["Id"]
        sf.Contact.update(written, {"DoNotCall": True})
        again = sf.query_all(soql.format(">=", cursor))
        ids = [record["Id"] for record in again["records"]]
        assert ids.count(written) == 1 and len(ids) == len(set(ids))
        assert again["records"][-1]["Id"] == written

    def test_batch_size_header_sets_the_page_size(self, sf: Salesforce) -> None:
        """Sforce-Query-Options: batchSize=500 gives 500-row pages and a path-shaped nextRecordsUrl."""
        first = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
        assert len(first["records"]) == 500 and not first["done"]
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        assert second["records"][0]["Id"] != first["records"][0]["Id"]

    def test_records_have_attributes_and_nested_parent_objects(self, sf: Salesforce) -> None:
        """Parent fields come back as nested objects with attributes, or null when the lookup is empty."""
        result = sf.query(
            "SELECT Id, Account.Type, Account.BillingCountry, Individual.HasOptedOutSolicit FROM Contact LIMIT 300"
        )
        records = result["records"]
        assert all(record["attributes"]["type"] == "Contact" for record in records)
        with_account = [record for record in records if record["Account"] is not None]
        assert with_account and any(record["Account"] is None for record in records)
        assert with_account[0]["Account"]["attributes"]["type"] == "Account"
        assert "Type" in with_account[0]["Account"] and "BillingCountry" in with_account[0]["Account"]

    def test_account_types_cover_customers_partners_and_suppliers(self, sf: Salesforce) -> None:
        """Seeded Account.Type values include the defaults and the custom Supplier/Vendor."""
        types = {record["Type"] for record in sf.query_all("SELECT Type FROM Account")["records"]}
        wanted = {
            "Customer - Direct",
            "Customer - Channel",
            "Prospect",
            "Installation Partner",
            "Supplier",
            "Vendor",
        }
        assert wanted <= types

    def test_semi_join_on_won_opportunities(self, sf: Salesforce) -> None:
        """`AccountId IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)` returns only won accounts."""
        joined = sf.query_all(
            "SELECT Id, AccountId FROM Contact WHERE AccountId IN "
            "(SELECT AccountId FROM Opportunity WHERE IsWon = true AND CloseDate >= 2020-01-01)"
        )["records"]
        won = {
            record["AccountId"]
            for record in sf.query_all(
                "SELECT AccountId FROM Opportunity WHERE IsWon = true AND CloseDate >= 2020-01-01"
            )["records"]
        }
        assert joined and {record["AccountId"] for record in joined} <= won

    def test_where_like_in_and_datetime_literals_filter(self, sf: Salesforce) -> None:
        """LIKE, NOT IN, boolean and datetime comparisons filter as documented."""
        records = sf.query_all(
            "SELECT Id, LeadSource, SystemModstamp, Account.Type FROM Contact "
            "WHERE Account.Type LIKE 'customer%' AND LeadSource NOT IN ('Web') "
            "AND SystemModstamp > 2020-01-01T00:00:00Z AND HasOptedOutOfEmail = false "
            "ORDER BY SystemModstamp DESC, Id"
        )["records"]
        assert records
        assert all(record["Account"]["Type"].startswith("Customer") for record in records)
        assert all(record["LeadSource"] != "Web" for record in records)
        stamps = [record["SystemModstamp"] for record in records]
        assert stamps == sorted(stamps, reverse=True)
        assert stamps[0].endswith(".000+0000")

    def test_format_soql_datetimes_are_accepted(self, sf: Salesforce) -> None:
        """A datetime rendered by simple_salesforce.format_soql (with +00:00) parses."""
        from datetime import UTC, datetime

        from simple_salesforce import format_soql

        soql = format_soql(
            "SELECT COUNT() FROM Contact WHERE SystemModstamp > {}", datetime(2025, 1, 1, tzinfo=UTC)
        )
        assert sf.query(soql)["totalSize"] > 0

    def test_leads_expose_is_converted(self, sf: Salesforce) -> None:
        """Some seeded leads are converted; filtering on IsConverted = false excludes them."""
        converted = sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = true")["totalSize"]
        open_leads = sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = false")["totalSize"]
        assert converted > 0 and converted + open_leads == 600

    def test_query_all_includes_deleted_records(self, sf: Salesforce) -> None:
        """A deleted contact disappears from query and returns from queryAll with IsDeleted = true."""
        victim = contact_ids(sf, 1, "WHERE Email != null")[0]
        sf.Contact.delete(victim)
        soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{victim}'"
        assert sf.query(soql)["totalSize"] == 0
        deleted = sf.query_all(soql, include_deleted=True)["records"]
        assert deleted[0]["IsDeleted"] is True
        with pytest.raises(SalesforceResourceNotFound) as caught:
            sf.Contact.get(victim)
        assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"

    def test_unknown_field_and_bad_syntax_raise_malformed_request(self, sf: Salesforce) -> None:
        """INVALID_FIELD and MALFORMED_QUERY answer 400, which the library raises as SalesforceMalformedRequest."""
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Nope__c FROM Contact")
        assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id FROM Contact WHERE")
        assert caught.value.content[0]["errorCode"] == "MALFORMED_QUERY"
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01'")
        assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"

    def test_object_and_field_names_are_case_insensitive(self, sf: Salesforce) -> None:
        """Lower-case names work and come back in canonical case."""
        record = sf.query("select id, email from contact limit 1")["records"][0]
        assert set(record) == {"attributes", "Id", "Email"}


class TestWrites:
    """Single-record updates, sObject Collections and SystemModstamp."""

    def test_update_returns_204_and_moves_system_modstamp(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """sf.Contact.update writes the value and bumps SystemModstamp past its seeded value."""
        record_id = contact_ids(sf, 1, "WHERE DoNotCall = false")[0]
        before = sandbox.state.record("Contact", record_id)
        assert before is not None
        assert sf.Contact.update(record_id, {"DoNotCall": True}) == 204
        after = sandbox.state.record("Contact", record_id)
        assert after is not None and after["DoNotCall"] is True
        assert after["SystemModstamp"] > before["SystemModstamp"]

    def test_collections_report_partial_failures_per_record(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """allOrNone=false writes the good records and returns statusCode errors for the bad ones, in order."""
        good, other = contact_ids(sf, 2, "WHERE HasOptedOutOfEmail = false")
        converted = sf.query("SELECT Id FROM Lead WHERE IsConverted = true LIMIT 1")["records"][0]["Id"]
        body = {
            "allOrNone": False,
            "records": [
                update(good, HasOptedOutOfEmail=True),
                update(other, Bogus__c=True),
                {"attributes": {"type": "Lead"}, "id": converted, "DoNotCall": True},
                update("003xxxxxxxxxxxx", DoNotCall=True),
                update(other, IsDeleted=True),
            ],
        }
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
        assert [result["success"] for result in results] == [True, False, False, False, False]
        codes = [result["errors"][0]["statusCode"] for result in results[1:]]
        assert codes == [
            "INVALID_FIELD",
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "MALFORMED_ID",
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ]
        written = sandbox.state.record("Contact", good)
        assert written is not None and written["HasOptedOutOfEmail"] is True

    def test_all_or_none_rolls_back_every_record(self, sf: Salesforce, sandbox: SalesforceSandbox) -> None:
        """With allOrNone=true one failure fails all, the valid ones with ALL_OR_NONE_OPERATION_ROLLED_BACK."""
        good = contact_ids(sf, 1, "WHERE HasOptedOutOfFax = false")[0]
        body = {"allOrNone": True, "records": [update(good, HasOptedOutOfFax=True), update(good, Nope__c=1)]}
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
        assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        record = sandbox.state.record("Contact", good)
        assert record is not None and record["HasOptedOutOfFax"] is False

    def test_more_than_200_records_is_refused(self, sf: Salesforce) -> None:
        """A collection of 201 records answers 400 EXCEEDED_ID_LIMIT."""
        ids = contact_ids(sf, 201)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.restful(
                "composite/sobjects",
                method="PATCH",
                json={"records": [update(i, DoNotCall=True) for i in ids]},
            )
        assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"

    def test_injected_lock_errors_hit_the_configured_share(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """record_error_rate makes about that share of records fail with UNABLE_TO_LOCK_ROW."""
        sandbox.state.faults.configure(record_error_rate=0.3, seed=5)
        ids = contact_ids(sf, 200)
        results = sf.restful(
            "composite/sobjects", method="PATCH", json={"records": [update(i, Title="x") for i in ids]}
        )
        failed = [result for result in results if not result["success"]]
        assert 30 < len(failed) < 90
        assert {result["errors"][0]["statusCode"] for result in failed} == {"UNABLE_TO_LOCK_ROW"}

    def test_admin_endpoint_reads_records_directly(self, sf: Salesforce, sandbox: SalesforceSandbox) -> None:
        """GET /__sandbox/records/{object}/{id} returns the stored record without auth or quota."""
        record_id = contact_ids(sf, 1)[0]
        used = sandbox.state.api_used
        response = requests.get(f"{sandbox.base_url}/__sandbox/records/Contact/{record_id}", timeout=5)
        assert response.status_code == 200 and response.json()["Id"] == record_id
        assert sandbox.state.api_used == used


class TestErrorsAndLimits:
    """Error codes mapped to simple-salesforce exceptions, quota, headers, tokens and faults."""

    def test_every_response_carries_the_limit_header(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """Sforce-Limit-Info is parsed by the library into sf.api_usage."""
        sf.query("SELECT Id FROM Contact LIMIT 1")
        usage = sf.api_usage["api-usage"]
        assert usage.total == 15000 and usage.used == sandbox.state.api_used

    def test_an_unknown_record_raises_resource_not_found(self, sf: Salesforce) -> None:
        """A well-formed id with no record is 404 NOT_FOUND."""
        with pytest.raises(SalesforceResourceNotFound) as caught:
            sf.Contact.get(make_id("003", 10**8))
        assert caught.value.content[0]["errorCode"] == "NOT_FOUND"

    def test_a_spent_quota_raises_refused_request(self, sf: Salesforce, sandbox: SalesforceSandbox) -> None:
        """Past the daily limit every call is 403 REQUEST_LIMIT_EXCEEDED (SalesforceRefusedRequest)."""
        sandbox.state.api_used = sandbox.state.daily_limit
        with pytest.raises(SalesforceRefusedRequest) as caught:
            sf.query("SELECT Id FROM Contact LIMIT 1")
        assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"

    def test_limits_report_the_remaining_daily_requests(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """limits/ reports DailyApiRequests Max and Remaining."""
        daily = sf.limits()["DailyApiRequests"]
        assert daily["Max"] == 15000 and daily["Remaining"] == 15000 - sandbox.state.api_used

    def test_an_expired_session_raises_expired_session(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """After the tokens expire, a session-id client gets 401 INVALID_SESSION_ID (SalesforceExpiredSession)."""
        sandbox.state.expire_tokens()
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Contact LIMIT 1")

    def test_error_storms_raise_general_errors_then_clear(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """A storm of two 503s fails two calls with SERVER_UNAVAILABLE; the third succeeds."""
        sandbox.state.faults.configure(storm_remaining=2, storm_status=503)
        for _ in range(2):
            with pytest.raises(SalesforceGeneralError) as caught:
                sf.query("SELECT Id FROM Contact LIMIT 1")
            assert caught.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
        assert sf.query("SELECT Id FROM Contact LIMIT 1")["totalSize"] == 1

    def test_dropped_connections_surface_as_requests_errors(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """A dropped connection is a raw requests exception, not a Salesforce one."""
        sandbox.state.faults.configure(drop_rate=1.0)
        with pytest.raises(requests.exceptions.RequestException):
            sf.query("SELECT Id FROM Contact LIMIT 1")

    def test_faults_can_be_set_over_http(self, sandbox: SalesforceSandbox) -> None:
        """POST /__sandbox/faults changes the settings; unknown keys are refused."""
        response = requests.post(
            f"{sandbox.base_url}/__sandbox/faults", json={"slow_seconds": 0.01}, timeout=5
        )
        assert response.json()["slow_seconds"] == 0.01
        bad = requests.post(f"{sandbox.base_url}/__sandbox/faults", json={"nope": 1}, timeout=5)
        assert bad.status_code == 400


class TestLogin:
    """The token endpoint for the three unattended grants."""

    def test_client_credentials_login_works_against_the_sandbox(self, sandbox: SalesforceSandbox) -> None:
        """Salesforce(consumer_key, consumer_secret, domain) logs in and queries with the issued token."""
        session = sandbox.session(login_hosts=(LOGIN_HOST,))
        sf = Salesforce(
            consumer_key=sandbox.state.client_id, consumer_secret=sandbox.state.client_secret,
            domain="acme.my", session=session,
        )  # fmt: skip
        assert sf.sf_instance == f"127.0.0.1:{sandbox.port}"
        assert sf.query("SELECT Id FROM Contact LIMIT 1")["totalSize"] == 1
        session.close()

    def test_jwt_bearer_login_works_against_the_sandbox(self, sandbox: SalesforceSandbox) -> None:
        """Salesforce(username, consumer_key, privatekey) posts a signed assertion and gets a working token."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        session = sandbox.session(login_hosts=("login.salesforce.com",))
        sf = Salesforce(
            username="integ@acme.example",
            consumer_key=sandbox.state.client_id,
            privatekey=pem,
            session=session,
        )
        assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1
        session.close()

    def test_refresh_token_grant_returns_the_sandbox_instance_url(self, sandbox: SalesforceSandbox) -> None:
        """grant_type=refresh_token answers an access token and the sandbox's own instance_url."""
        form = {"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"}
        form |= {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
        granted = requests.post(f"{sandbox.base_url}/services/oauth2/token", data=form, timeout=5).json()
        assert granted["instance_url"] == sandbox.base_url
        assert sandbox.state.token_valid(granted["access_token"])
        refused = requests.post(
            f"{sandbox.base_url}/services/oauth2/token", data={**form, "refresh_token": "x"}, timeout=5
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


class TestSetupAndBulk:
    """The installer's Tooling API path with field-level security, describe, and Bulk 2.0 updates."""

    def test_a_created_field_is_invisible_until_a_permission_set_grants_it(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """Tooling CustomField create, then INVALID_FIELD / INVALID_FIELD_FOR_INSERT_UPDATE until FLS is granted."""
        created = sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={"FullName": "Contact.Do_Not_Cold_Call__c",
                  "Metadata": {"label": "Do Not Cold Call", "type": "Checkbox", "defaultValue": "false"}},
        )  # fmt: skip
        assert created["success"] and created["id"].startswith("00N")
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id, Do_Not_Cold_Call__c FROM Contact LIMIT 1")
        assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
        names = {field["name"] for field in sf.Contact.describe()["fields"]}
        assert "Do_Not_Cold_Call__c" not in names
        record_id = contact_ids(sf, 1)[0]
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Contact.update(record_id, {"Do_Not_Cold_Call__c": True})
        assert caught.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"

        permission_set = sf.PermissionSet.create({"Name": "Consent_Sync", "Label": "Consent Sync"})["id"]
        sf.FieldPermissions.create(
            {"ParentId": permission_set, "SobjectType": "Contact", "Field": "Contact.Do_Not_Cold_Call__c",
             "PermissionsRead": True, "PermissionsEdit": True}
        )  # fmt: skip
        assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
        user_id = sf.query("SELECT Id FROM User")["records"][0]["Id"]
        sf.PermissionSetAssignment.create({"AssigneeId": user_id, "PermissionSetId": permission_set})

        described = {field["name"]: field for field in sf.Contact.describe()["fields"]}
        assert (
            described["Do_Not_Cold_Call__c"]["type"] == "boolean"
            and described["Do_Not_Cold_Call__c"]["updateable"]
        )
        assert sf.Contact.update(record_id, {"Do_Not_Cold_Call__c": True}) == 204
        row = sf.query(f"SELECT Do_Not_Cold_Call__c FROM Contact WHERE Id = '{record_id}'")["records"][0]
        assert row["Do_Not_Cold_Call__c"] is True
        default = sf.query(f"SELECT Do_Not_Cold_Call__c FROM Contact WHERE Id != '{record_id}' LIMIT 1")
        assert default["records"][0]["Do_Not_Cold_Call__c"] is False

    def test_describe_lists_lead_source_picklist_values(self, sf: Salesforce) -> None:
        """Describe returns LeadSource with the default and custom picklist values."""
        fields = {field["name"]: field for field in sf.Lead.describe()["fields"]}
        values = {item["value"] for item in fields["LeadSource"]["picklistValues"]}
        assert {
            "Web",
            "Phone Inquiry",
            "Partner Referral",
            "Purchased List",
            "Other",
            "LinkedIn",
            "KvK",
        } <= values
        assert fields["IsConverted"]["updateable"] is False

    def test_bulk2_update_job_completes_with_failed_results(
        self, sf: Salesforce, sandbox: SalesforceSandbox
    ) -> None:
        """sf.bulk2.Contact.update uploads CSV, polls to JobComplete and reports the failed rows."""
        ids = contact_ids(sf, 50, "WHERE Title = null")
        rows = [{"Id": record_id, "Title": "Bulk"} for record_id in ids] + [{"Id": "003xx", "Title": "Bulk"}]
        results = sf.bulk2.Contact.update(records=rows, wait=0)
        assert results[0]["numberRecordsProcessed"] == 51 and results[0]["numberRecordsFailed"] == 1
        failed = sf.bulk2.Contact.get_failed_records(results[0]["job_id"])
        assert failed.splitlines()[0].startswith('"sf__Id","sf__Error"') and "MALFORMED_ID" in failed
        record = sandbox.state.record("Contact", ids[0])
        assert record is not None and record["Title"] == "Bulk"


class _AckingReceiver(BaseHTTPRequestHandler):
    """Refuses the first Outbound Message, acknowledges the rest, and keeps the bodies."""

    bodies: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        """Answer 500 to the first delivery attempt and the SOAP Ack afterwards."""
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.bodies.append(body)
        ok = len(self.bodies) > 1
        answer = (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
            b"</notificationsResponse></soapenv:Body></soapenv:Envelope>"
        )
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


def test_outbound_messages_are_retried_until_acknowledged() -> None:
    """A Contact change is POSTed as a SOAP notification and re-sent after a failed delivery."""
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _AckingReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/outbound"
    with running_salesforce(contacts=20, seed=2, webhook_url=url, connector_fields=True) as sandbox:
        session = sandbox.session()
        sf = Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=session)
        record_id = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
        sf.Contact.update(record_id, {"Email_Allowed__c": True})
        deadline = time.monotonic() + 5
        while (sandbox.outbound is None or sandbox.outbound.delivered == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        session.close()
    receiver.shutdown()
    receiver.server_close()
    assert len(_AckingReceiver.bodies) == 2
    assert f"<sf:Id>{record_id}</sf:Id>" in _AckingReceiver.bodies[1]
    assert "<OrganizationId>00D" in _AckingReceiver.bodies[1]
