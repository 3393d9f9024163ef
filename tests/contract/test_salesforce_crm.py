"""SalesforceCrm against the Salesforce sandbox: the real simple-salesforce over real HTTP, no mocks.

Every adapter here is built by `SalesforceCrm.from_config` from a plain configuration whose instance (or login)
URL is the sandbox's loopback address, as `lawful-crm sandbox` prints it; the sandbox's counters and request
log show what went over the wire. Retries do not wait (`set_testing`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from simple_salesforce import Salesforce

from connector.crm.port import CrmRecord, Cursor, FieldUpdate, Page
from connector.crm.retry import RetryPolicy
from connector.crm.salesforce import SalesforceCrm
from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    QuotaExhaustedError,
    ServiceUnavailableError,
)
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import written_names
from connector.models import LawfulUse
from connector.settings import SalesforceConfig
from crm_sandbox.salesforce.ids import make_id, parse_id
from crm_sandbox.salesforce.query import format_value
from crm_sandbox.salesforce.schema import ACCOUNT_TYPES, LEAD_SOURCES
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

MAPPING = load_mapping("salesforce")
OWN_FIELDS = written_names(MAPPING.writeback)


pytestmark = pytest.mark.usefixtures("no_retry_waits")


def configured(sandbox: SalesforceSandbox, **settings: Any) -> SalesforceConfig:
    """Session-id auth on the sandbox's loopback instance URL, plus any settings given."""
    base: dict[str, Any] = {
        "auth": "session",
        "instance_url": sandbox.base_url,
        "session_id": SecretStr(sandbox.token),
    }
    return SalesforceConfig(**(base | settings))


def adapter(sandbox: SalesforceSandbox, **settings: Any) -> SalesforceCrm:
    """An adapter built from configuration alone, polling Bulk API 2.0 jobs without pause."""
    return SalesforceCrm.from_config(configured(sandbox, **settings), MAPPING, bulk_poll_s=0)


def contact_ids(count: int, *, start: int = 0) -> list[str]:
    """Ids of the seeded contacts `start .. start + count - 1`."""
    return [make_id("003", index) for index in range(start, start + count)]


def stamp(sandbox: SalesforceSandbox, record_id: str) -> Any:
    """The record's SystemModstamp as the org holds it."""
    record = sandbox.state.record("Contact", record_id)
    assert record is not None
    return record["SystemModstamp"]


def index_of(record_id: str) -> int:
    """The seeded index a sandbox id encodes (Contact i, Account i and Opportunity i are one person's)."""
    parsed = parse_id(record_id)
    assert parsed is not None
    return parsed[1]


def folded(counts: dict[str, int]) -> dict[str, int]:
    """Counts keyed in lower case (SOQL groups text case-insensitively)."""
    return {value.lower(): count for value, count in counts.items()}


def everything(crm: SalesforceCrm, object_type: str, since: Cursor | None = None) -> list[Page]:
    """Every page of one pull."""
    return list(crm.pull(object_type, since=since))


def flags(record_id: str, *, object_type: str = "Contact", **values: Any) -> FieldUpdate:
    """An update of the connector's own fields (Do_Not_Cold_Call__c unless other values are given)."""
    return FieldUpdate(object_type, record_id, values or {"Do_Not_Cold_Call__c": True})


@pytest.fixture
def installed() -> Iterator[tuple[SalesforceSandbox, SalesforceCrm]]:
    """A fresh org of 300 contacts and 90 leads after `install`."""
    with running_salesforce(contacts=300, seed=5) as sandbox:
        crm = adapter(sandbox, page_size=200)
        assert crm.install(dry_run=False, uninstall=False).problems == ()
        sandbox.state.reset_counters()
        yield sandbox, crm


@pytest.fixture(scope="module")
def large() -> Iterator[SalesforceSandbox]:
    """An installed org of 5,200 contacts, shared by the read-only tests."""
    with running_salesforce(contacts=5200, leads=600, seed=7, connector_fields=True) as sandbox:
        yield sandbox


# -- install -------------------------------------------------------------------------------------------------
class TestInstall:
    def test_install_on_a_fresh_org_makes_the_flag_fields_writable_and_readable(self) -> None:
        """Fields, permission set, edit grants and assignment are created; a written flag reads back."""
        with running_salesforce(contacts=50, seed=2) as sandbox:
            crm = adapter(sandbox)
            report = crm.install(dry_run=False, uninstall=False)
            fields = {f"{obj}.{name}" for obj in ("Contact", "Lead") for name in OWN_FIELDS}
            assert fields <= set(report.created) and report.problems == () and report.unchanged == ()
            assert "permission set Lawful_CRM_Integration" in report.created
            assert "assignment of Lawful_CRM_Integration to the integration user" in report.created
            assert sum(item.startswith("edit permission on") for item in report.created) == len(fields)

            target = make_id("003", 7)
            outcome = crm.write([flags(target, Do_Not_Cold_Call__c=True, Lawful_Use__c="opt_in")])
            assert outcome[0].ok
            (record,) = crm.read("Contact", [target])
            assert record.fields["Do_Not_Cold_Call__c"] is True and record.fields["Lawful_Use__c"] == "opt_in"
            described = crm.describe("Lead")
            assert described["Email_Allowed__c"].writable and described["Email_Allowed__c"].type == "boolean"
            assert described["Lawful_Use__c"].values == tuple(use.value for use in LawfulUse)

    def test_install_creates_the_review_queue_list_views_and_uninstall_removes_them(self) -> None:
        """A public list view per object, filtered on the review field, through the UI API at 61.0 (the
        configured 59.0 predates it); the org then lists them as ListView records."""
        with running_salesforce(contacts=20, seed=2) as sandbox:
            crm = adapter(sandbox)
            report = crm.install(dry_run=False, uninstall=False)
            items = {f"list view 'Lawful use: review needed' on {obj}" for obj in ("Contact", "Lead")}
            assert items <= set(report.created)
            assert sandbox.state.counters["POST createListInfo"] == 2
            sf = Salesforce(
                instance_url=sandbox.base_url, session_id=sandbox.token, session=sandbox.session()
            )
            views = sf.query("SELECT Name, DeveloperName, SobjectType FROM ListView")["records"]
            assert sorted((v["SobjectType"], v["DeveloperName"], v["Name"]) for v in views) == [
                (obj, "Lawful_Use_Review_Needed", "Lawful use: review needed") for obj in ("Contact", "Lead")
            ]
            base = f"{sandbox.base_url}/services/data"
            headers = {"Authorization": f"Bearer {sandbox.token}"}
            info = sandbox.session().get(
                f"{base}/v61.0/ui-api/list-info/Lead/Lawful_Use_Review_Needed", headers=headers
            )
            assert info.status_code == 200 and info.json()["visibility"] == "Public"
            assert info.json()["filteredByInfo"] == [
                {"fieldApiName": "Lawful_Use_Review__c", "label": "Lawful Use Review",
                 "operandLabels": ["True"], "operator": "Equals"}
            ]  # fmt: skip
            older = sandbox.session().get(
                f"{base}/v59.0/ui-api/list-info/Lead/Lawful_Use_Review_Needed", headers=headers
            )
            assert older.status_code == 404, "the resource does not exist before API 61.0"
            removed = crm.install(dry_run=False, uninstall=True)
            assert items <= set(removed.removed) and removed.problems == ()
            assert sf.query("SELECT Id FROM ListView")["records"] == []

    def test_a_second_install_changes_nothing(self) -> None:
        """Run twice, the second run only reads and reports every item as unchanged."""
        with running_salesforce(contacts=20, seed=2) as sandbox:
            crm = adapter(sandbox)
            first = crm.install(dry_run=False, uninstall=False)
            sandbox.state.reset_counters()
            second = crm.install(dry_run=False, uninstall=False)
            assert second.created == () and second.problems == ()
            assert sorted(second.unchanged) == sorted(first.created)
            assert {key.split(" ")[0] for key in sandbox.state.counters} == {"GET"}

    def test_uninstall_removes_what_install_created(self) -> None:
        """The assignment, the permission set with its grants, and the fields go; a second uninstall finds nothing."""
        with running_salesforce(contacts=20, seed=2) as sandbox:
            crm = adapter(sandbox)
            created = crm.install(dry_run=False, uninstall=False).created
            removed = crm.install(dry_run=False, uninstall=True)
            assert sorted(removed.removed) == sorted(created) and removed.problems == ()
            assert not set(OWN_FIELDS) & set(crm.describe("Contact"))
            assert sandbox.state.store.get("PermissionSet", 1_000_000_000) is None
            again = crm.install(dry_run=False, uninstall=True)
            assert again.removed == () and len(again.unchanged) == 15
            assert crm.install(dry_run=False, uninstall=False).created == created

    def test_a_dry_run_creates_nothing(self) -> None:
        """A dry run reports what it would create, calls no write endpoint and leaves the org as it was."""
        with running_salesforce(contacts=20, seed=2) as sandbox:
            crm = adapter(sandbox)
            planned = crm.install(dry_run=True, uninstall=False)
            fields_and_grants = 2 * len(OWN_FIELDS) * len(MAPPING.objects)
            list_views = len(MAPPING.objects)
            assert len(planned.created) == fields_and_grants + 2 + list_views and planned.problems == ()
            assert {key.split(" ")[0] for key in sandbox.state.counters} == {"GET"}
            assert "Do_Not_Cold_Call__c" not in crm.describe("Contact")
            crm.install(dry_run=False, uninstall=False)
            sandbox.state.reset_counters()
            assert len(crm.install(dry_run=True, uninstall=True).removed) == 26 + list_views
            assert {key.split(" ")[0] for key in sandbox.state.counters} == {"GET"}
            assert "Do_Not_Cold_Call__c" in crm.describe("Contact")


# -- pull and read -------------------------------------------------------------------------------------------
class TestPull:
    def test_a_pull_of_5200_contacts_takes_three_pages_of_three_calls_after_one_for_the_newest_row(
        self, large: SalesforceSandbox
    ) -> None:
        """After one query for the newest row, one for the newest consent row change (the mark the next
        incremental pull counts consent changes from) and one COUNT() (below bulk_threshold: REST), 2,000-row
        keyset pages of one query, one won-deal aggregate and one query of the Individuals' consent rows."""
        crm = adapter(large)
        large.state.reset_counters()
        pulling = crm.pull("Contact", since=None)
        first = next(pulling)
        assert dict(large.state.counters) == {"GET queryAll": 4, "GET query": 2}
        pages = [first, *pulling]
        assert [len(page.records) for page in pages] == [2000, 2000, 1200]
        assert dict(large.state.counters) == {"GET queryAll": 6, "GET query": 6}
        assert crm.usage().calls == 12 and crm.usage().limit == 15000
        records = [record for page in pages for record in page.records]
        order = [(record.modified, record.id.lower()) for record in records]
        assert order == sorted(order) and len({record.id for record in records}) == 5200
        last = records[-1]
        cursor = pages[-1].cursor
        assert cursor is not None and (cursor.modified, cursor.last_id) == (last.modified, last.id)
        assert cursor.consents_from is not None and cursor.consents_seen, (
            "the consent mark rides on the cursor"
        )
        assert last.modified.tzinfo is not None and last.created is not None
        sample = records[123]
        assert {"Account.Type", "Individual.HasOptedOutSolicit", "Last_Won_Close_Date", *OWN_FIELDS} <= set(
            sample.fields
        )
        won = [record for record in records if record.fields["Last_Won_Close_Date"]]
        assert won and all(date.fromisoformat(record.fields["Last_Won_Close_Date"]) for record in won)

    def test_won_deal_dates_are_the_latest_won_close_date_of_the_account(
        self, large: SalesforceSandbox
    ) -> None:
        """Last_Won_Close_Date equals MAX(CloseDate) of the account's won Opportunities in the sandbox."""
        crm = adapter(large)
        records = crm.read("Contact", contact_ids(200))
        checked = 0
        for record in records:
            contact = large.state.record("Contact", record.id)
            assert contact is not None
            account = contact["AccountId"]
            opportunity = large.state.record("Opportunity", make_id("006", index_of(record.id)))
            wanted = None
            if account and opportunity and opportunity["IsWon"] and opportunity["AccountId"] == account:
                wanted = format_value(opportunity["CloseDate"])
            checked += wanted is not None
            assert record.fields["Last_Won_Close_Date"] == wanted
        assert checked > 0

    def test_an_incremental_pull_sees_exactly_the_records_changed_since_the_cursor(self) -> None:
        """After a full pull, the next one returns the changes since: one made between pages, one after the run."""
        with running_salesforce(contacts=600, seed=3, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200)
            pulling = crm.pull("Contact", since=None)
            first = next(pulling)
            read_before = first.records[10].id
            not_yet_read = max(  # the row the pull reads last (pages after the first may be read ahead)
                contact_ids(600), key=lambda record_id: (stamp(sandbox, record_id), record_id.lower())
            )
            assert not_yet_read not in {record.id for record in first.records}
            crm.write([flags(read_before), flags(not_yet_read)])  # during the run, between pages
            pages = [first, *pulling]
            ids = [record.id for page in pages for record in page.records]
            assert (
                len(ids) == len(set(ids)) == 599 and not_yet_read not in ids
            )  # it moved past the stopping row
            changed_after = first.records[20].id
            crm.write([flags(changed_after)])

            changes = [
                record for page in everything(crm, "Contact", pages[-1].cursor) for record in page.records
            ]
            assert sorted(record.id for record in changes) == sorted(
                [read_before, not_yet_read, changed_after]
            )
            assert all(record.fields["Do_Not_Cold_Call__c"] is True for record in changes)

    def test_a_pull_resumed_from_any_page_cursor_loses_nothing(self) -> None:
        """A run that stops after its second page (a crash) is resumed from that page's cursor without a gap."""
        with running_salesforce(contacts=600, seed=3, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200, overlap_s=0)
            pulling = crm.pull("Contact", since=None)
            first = next(pulling)
            changed = [first.records[5].id, contact_ids(1, start=598)[0]]
            crm.write([flags(record_id) for record_id in changed])
            second = next(pulling)
            del pulling  # the run stops here: its checkpoint is the second page
            assert second.cursor is not None
            resumed = [
                record for page in everything(crm, "Contact", second.cursor) for record in page.records
            ]
            seen = {record.id for page in (first, second) for record in page.records} | {
                r.id for r in resumed
            }
            assert seen == set(contact_ids(600)) and set(changed) <= {record.id for record in resumed}
            truth = [
                row["Id"]
                for index in range(600)
                if (row := sandbox.state.record("Contact", make_id("003", index)))
                and (row["SystemModstamp"], row["Id"].lower())
                > (second.cursor.modified, second.cursor.last_id.lower())
            ]
            assert sorted(record.id for record in resumed) == sorted(truth)

    def test_a_pull_reads_the_org_as_it_was_when_it_began(self) -> None:
        """A record changed while a pull runs (here by the connector's own write) is left for the next pull."""
        with running_salesforce(contacts=500, seed=3, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200)
            pulling = crm.pull("Contact", since=None)
            first = next(pulling)
            target = first.records[0].id
            crm.write([flags(target, Lawful_Use__c="customer")])
            pages = [first, *pulling]
            assert sum(len(page.records) for page in pages) == 500
            assert [record.id for page in pages for record in page.records].count(target) == 1
            (again,) = [
                record for page in everything(crm, "Contact", pages[-1].cursor) for record in page.records
            ]
            assert again.id == target and again.fields["Lawful_Use__c"] == "customer"

    def test_the_overlap_window_re_reads_recent_changes_but_not_the_cursor_row(self) -> None:
        """From a cursor, changes within overlap_s before it are read again; the cursor's own row is not."""
        with running_salesforce(contacts=200, seed=3, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200, overlap_s=300)
            ids = contact_ids(3)
            crm.write([flags(record_id) for record_id in ids])
            pages = everything(crm, "Contact")
            cursor = pages[-1].cursor
            assert cursor is not None and cursor.last_id == ids[-1]
            again = [record.id for page in everything(crm, "Contact", cursor) for record in page.records]
            assert again == ids[:-1]

    def test_deleted_records_come_back_as_deleted(self) -> None:
        """After deletions, the next pull returns them with deleted=True and no values; read leaves them out."""
        with running_salesforce(contacts=200, leads=60, seed=4, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200)
            cursor = everything(crm, "Contact")[-1].cursor
            victims = contact_ids(2, start=50)
            for victim in victims:
                sandbox.state.store.delete("Contact", index_of(victim))
            records = [record for page in everything(crm, "Contact", cursor) for record in page.records]
            assert [(record.id, record.deleted, dict(record.fields)) for record in records] == [
                (victim, True, {}) for victim in victims
            ]
            assert crm.read("Contact", victims) == []

    def test_leads_are_pulled_without_converted_ones(self) -> None:
        """Converted leads are read-only history: a Lead pull skips them."""
        with running_salesforce(contacts=300, leads=120, seed=4, connector_fields=True) as sandbox:
            crm = adapter(sandbox, page_size=200)
            pulled = {record.id for page in everything(crm, "Lead") for record in page.records}
            converted = {
                make_id("00Q", index)
                for index in range(120)
                if (lead := sandbox.state.record("Lead", make_id("00Q", index))) and lead["IsConverted"]
            }
            assert converted and not pulled & converted and len(pulled) + len(converted) == 120

    def test_read_takes_200_ids_per_query_and_leaves_unknown_ones_out(self, large: SalesforceSandbox) -> None:
        """450 ids (15- and 18-character, plus unknown and malformed ones) take three queries, in the order asked."""
        crm = adapter(large)
        ids = contact_ids(450, start=1000)
        asked = [ids[0][:15], *ids[1:], make_id("003", 10**7), "003'; DELETE"]
        large.state.reset_counters()
        records = crm.read("Contact", asked)
        assert [record.id for record in records] == ids
        # a query, its won deals and its Individuals' consent rows per 200 ids
        assert large.state.counters["GET query"] == 3 * 3


# -- write ---------------------------------------------------------------------------------------------------
class TestWrite:
    def test_1000_updates_take_exactly_five_collection_calls(self) -> None:
        """sObject Collections of 200, allOrNone false: five PATCH calls, every record written."""
        with running_salesforce(contacts=1000, seed=6, connector_fields=True) as sandbox:
            crm = adapter(sandbox)
            ids = contact_ids(1000)
            outcomes = crm.write([flags(record_id, Email_Allowed__c=True) for record_id in ids])
            assert [outcome.record_id for outcome in outcomes] == ids and all(
                outcome.ok for outcome in outcomes
            )
            assert dict(sandbox.state.counters) == {"PATCH compositeUpdate": 5}
            written = sandbox.state.record("Contact", ids[-1])
            assert written is not None and written["Email_Allowed__c"] is True

    def test_more_updates_than_the_bulk_write_threshold_go_through_bulk_api_2(self) -> None:
        """Above bulk_write_threshold one ingest job per object type writes them; a deleted record is reported gone."""
        with running_salesforce(contacts=200, leads=60, seed=6, connector_fields=True) as sandbox:
            crm = adapter(sandbox, bulk_write_threshold=50)
            contacts = contact_ids(80)
            sandbox.state.store.delete("Contact", 79)
            leads = [record.id for page in everything(crm, "Lead") for record in page.records][:20]
            sandbox.state.reset_counters()
            updates = [
                flags(record_id, Lawful_Use_Review__c=True, Lawful_Use_Reason__c="") for record_id in contacts
            ]
            updates += [flags(record_id, object_type="Lead", Email_Allowed__c=True) for record_id in leads]
            outcomes = crm.write(updates)
            assert sandbox.state.counters["POST bulkCreateJob"] == 2
            assert sandbox.state.counters["PATCH compositeUpdate"] == 0
            assert [outcome.record_id for outcome in outcomes] == contacts + leads
            assert all(outcome.ok for outcome in outcomes[:79] + outcomes[80:])
            assert (outcomes[79].ok, outcomes[79].gone, outcomes[79].code) == (
                False,
                True,
                "ENTITY_IS_DELETED",
            )
            contact, lead = (
                sandbox.state.record("Contact", contacts[0]),
                sandbox.state.record("Lead", leads[-1]),
            )
            assert contact is not None and contact["Lawful_Use_Review__c"] is True
            assert lead is not None and lead["Email_Allowed__c"] is True

    def test_a_locked_row_is_retried_and_a_deleted_record_reported_gone_while_the_rest_is_written(
        self, installed: tuple[SalesforceSandbox, SalesforceCrm]
    ) -> None:
        """UNABLE_TO_LOCK_ROW is sent again alone; ENTITY_IS_DELETED and a converted lead are gone; others written."""
        sandbox, crm = installed
        ids = contact_ids(10)
        locked, deleted = ids[3], ids[6]
        converted = next(
            make_id("00Q", index)
            for index in range(90)
            if (lead := sandbox.state.record("Lead", make_id("00Q", index))) and lead["IsConverted"]
        )
        too_long = make_id("003", 20)
        sandbox.state.store.delete("Contact", index_of(deleted))
        sandbox.state.faults.configure(locked_ids={locked: 1})
        log_start = len(sandbox.state.store.write_log)
        outcomes = crm.write(
            [flags(record_id, Lawful_Use__c="opt_in") for record_id in ids]
            + [flags(converted, object_type="Lead"), flags(too_long, Lawful_Use_Reason__c="x" * 300)]
        )
        assert [outcome.record_id for outcome in outcomes] == [*ids, converted, too_long]
        assert outcomes[3].ok and sum(outcome.ok for outcome in outcomes) == 9
        assert (outcomes[6].ok, outcomes[6].gone, outcomes[6].code) == (False, True, "ENTITY_IS_DELETED")
        assert (outcomes[10].ok, outcomes[10].gone, outcomes[10].code) == (
            False,
            True,
            "CANNOT_UPDATE_CONVERTED_LEAD",
        )
        assert (outcomes[11].ok, outcomes[11].gone, outcomes[11].code) == (False, False, "STRING_TOO_LONG")
        assert sandbox.state.counters["PATCH compositeUpdate"] == 2
        writes = Counter(record_id for _, record_id, _ in sandbox.state.store.write_log[log_start:])
        assert writes == Counter(record_id for record_id in ids if record_id != deleted)

    def test_a_field_without_field_level_security_raises_a_configuration_error_naming_it(
        self, installed: tuple[SalesforceSandbox, SalesforceCrm]
    ) -> None:
        """Without edit access the write stops with the field's name; without read access the pull does too."""
        sandbox, crm = installed
        grants = sandbox.state.store
        grant = next(
            index
            for index in grants.indexes("FieldPermissions")
            if (row := grants.get("FieldPermissions", index)) and row["Field"] == "Contact.Email_Allowed__c"
        )
        grants.update("FieldPermissions", grant, {"PermissionsEdit": False})
        with pytest.raises(ConfigurationError) as refused:
            crm.write([flags(make_id("003", 1), Email_Allowed__c=True)])
        assert "Contact.Email_Allowed__c" in str(refused.value)
        assert refused.value.problems == ("Contact.Email_Allowed__c",)
        grants.delete("FieldPermissions", grant)
        with pytest.raises(ConfigurationError) as hidden:
            everything(crm, "Contact")
        assert hidden.value.problems == ("Contact.Email_Allowed__c",)

    def test_fields_that_are_not_the_connectors_own_are_refused_before_any_call(
        self, installed: tuple[SalesforceSandbox, SalesforceCrm]
    ) -> None:
        """Writing Email (or any field outside the write-back and mirror fields) is refused without a call."""
        sandbox, crm = installed
        with pytest.raises(ConfigurationError, match=r"Contact\.Email"):
            crm.write([flags(make_id("003", 1), Email="someone@example.com")])
        assert not sandbox.state.counters


# -- quota, auth, transport ----------------------------------------------------------------------------------
class TestLimits:
    def test_the_quota_reserve_stops_the_run_cleanly_and_the_next_run_resumes(self) -> None:
        """At 80 % of the daily limit the next call is not sent; tomorrow's run resumes from the last page."""
        with running_salesforce(contacts=1000, seed=8, daily_limit=1000, connector_fields=True) as sandbox:
            sandbox.state.api_used = 790
            crm = adapter(sandbox, page_size=200)
            pages: list[Page] = []
            with pytest.raises(QuotaExhaustedError) as spent:
                pages.extend(crm.pull("Contact", since=None))
            assert "800 of 1000" in str(spent.value) and "20%" in str(spent.value)
            assert len(pages) == 2 and sandbox.state.api_used == 800  # three calls a page
            assert crm.usage().calls == 10 and crm.usage().remaining == 200

            sandbox.state.api_used = 0  # a new day
            resumed = everything(adapter(sandbox, page_size=200), "Contact", pages[-1].cursor)
            ids = [record.id for page in pages + resumed for record in page.records]
            assert set(ids) == set(contact_ids(1000))

            sandbox.state.api_used = 1000
            with pytest.raises(QuotaExhaustedError, match="REQUEST_LIMIT_EXCEEDED"):
                adapter(sandbox).read("Contact", contact_ids(1))

    def test_the_default_timeout_turns_a_stalled_call_into_a_retriable_error(self) -> None:
        """simple-salesforce sets no timeout: the adapter's own one ends a stalled call, and it is retried."""
        with running_salesforce(contacts=20, seed=8, connector_fields=True) as sandbox:
            sandbox.state.faults.configure(slow_rate=1.0, slow_seconds=0.3)
            crm = SalesforceCrm.from_config(
                configured(sandbox, timeout_s=0.05), MAPPING, retry=RetryPolicy(attempts=2)
            )
            with pytest.raises(ServiceUnavailableError, match="Timeout"):
                crm.read("Contact", contact_ids(1))
            assert crm.usage().calls == 2

    def test_an_injected_session_is_used_with_the_timeout_and_meter_added(self) -> None:
        """A session prepared by the caller (here the sandbox's own) works, and its calls are counted."""
        with running_salesforce(contacts=20, seed=8, connector_fields=True) as sandbox:
            crm = SalesforceCrm.from_config(configured(sandbox), MAPPING, session=sandbox.session())
            assert len(crm.read("Contact", contact_ids(3))) == 3 and crm.usage().calls == 3


def rsa_key(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A private key file for the connected app and its public key in PEM (what the org holds)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / f"{name}.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


def token_flow(sandbox: SalesforceSandbox, flow: str, key_file: Path) -> SalesforceConfig:
    """A configuration of one unattended token flow against the sandbox's token endpoint."""
    state = sandbox.state
    common: dict[str, Any] = {"login_url": sandbox.base_url, "client_id": state.client_id, "page_size": 200}
    if flow == "jwt":
        return SalesforceConfig(
            auth="jwt", username="integration@sandbox.example", private_key_file=key_file, **common
        )
    if flow == "refresh_token":
        return SalesforceConfig(
            auth="refresh_token", client_secret=SecretStr(state.client_secret),
            refresh_token=SecretStr("sandbox-refresh-token"), **common,
        )  # fmt: skip
    return SalesforceConfig(auth="client_credentials", client_secret=SecretStr(state.client_secret), **common)


class TestAuth:
    @pytest.mark.parametrize("flow", ["jwt", "refresh_token", "client_credentials"])
    def test_an_expired_token_logs_in_again_once_and_the_pull_goes_on(
        self, tmp_path: Path, flow: str
    ) -> None:
        """The session expires between pages: one new login, the same page asked again, nothing lost."""
        key_file, public = rsa_key(tmp_path, "app")
        with running_salesforce(
            contacts=500, seed=9, connector_fields=True, jwt_certificate=public
        ) as sandbox:
            crm = SalesforceCrm.from_config(token_flow(sandbox, flow, key_file), MAPPING)
            pulling = crm.pull("Contact", since=None)
            pages = [next(pulling)]
            sandbox.state.expire_tokens()
            pages.extend(pulling)
            assert sum(len(page.records) for page in pages) == 500
            assert sandbox.state.counters["POST token"] == 2 and crm.connection.logins == 2

    def test_a_second_401_after_logging_in_again_is_an_authentication_error(self, tmp_path: Path) -> None:
        """When even the fresh token is refused, the run stops with AuthenticationError after one new login."""
        key_file, public = rsa_key(tmp_path, "app")
        with running_salesforce(
            contacts=50, seed=9, connector_fields=True, jwt_certificate=public
        ) as sandbox:
            crm = SalesforceCrm.from_config(token_flow(sandbox, "jwt", key_file), MAPPING)
            crm.read("Contact", contact_ids(1))
            sandbox.state.faults.configure(token_expired=True)
            with pytest.raises(AuthenticationError, match="401 INVALID_SESSION_ID"):
                crm.read("Contact", contact_ids(1))
            assert sandbox.state.counters["POST token"] == 2

    def test_an_assertion_signed_with_another_key_is_refused(self, tmp_path: Path) -> None:
        """The sandbox checks the JWT signature against the app's certificate: a wrong key cannot log in."""
        key_file, _ = rsa_key(tmp_path, "mine")
        _, theirs = rsa_key(tmp_path, "theirs")
        with running_salesforce(contacts=10, seed=9, jwt_certificate=theirs) as sandbox:
            crm = SalesforceCrm.from_config(token_flow(sandbox, "jwt", key_file), MAPPING)
            with pytest.raises(AuthenticationError, match="invalid_grant"):
                crm.read("Contact", contact_ids(1))

    def test_an_expired_session_id_cannot_be_renewed(self) -> None:
        """With session-id auth there is no login to repeat: a 401 is an AuthenticationError at once."""
        with running_salesforce(contacts=10, seed=9, connector_fields=True) as sandbox:
            crm = adapter(sandbox)
            sandbox.state.expire_tokens()
            with pytest.raises(AuthenticationError):
                crm.read("Contact", contact_ids(1))
            assert sandbox.state.counters.get("POST token") is None


# -- privacy -------------------------------------------------------------------------------------------------
def test_no_email_or_phone_value_appears_in_errors_or_logs_during_a_faulted_run(
    installed: tuple[SalesforceSandbox, SalesforceCrm], caplog: pytest.LogCaptureFixture
) -> None:
    """Error storms, dropped connections and validation messages quoting e-mail and phone leak into nothing."""
    sandbox, crm = installed
    caplog.set_level(logging.DEBUG)
    faults = sandbox.state.faults
    faults.configure(
        seed=3, storm_remaining=2, storm_status=503, drop_rate=0.05, record_error_rate=0.3,
        record_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", record_error_message="Blocked: {Email} {Phone} {MobilePhone}",
    )  # fmt: skip
    records: list[CrmRecord] = []
    for object_type in ("Contact", "Lead"):
        records += [record for page in everything(crm, object_type) for record in page.records]
    errors: list[BaseException] = []
    outcomes = crm.write([flags(record.id, object_type=record.object_type) for record in records[:150]])
    bulk = SalesforceCrm.from_config(configured(sandbox, bulk_write_threshold=10), MAPPING, bulk_poll_s=0)
    outcomes += bulk.write([flags(record.id, object_type=record.object_type) for record in records[150:200]])
    assert {outcome.code for outcome in outcomes if not outcome.ok} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}

    def write_a_foreign_field() -> None:
        crm.write([flags(records[0].id, Email=records[0].fields["Email"])])

    def read_with_an_expired_session() -> None:
        sandbox.state.expire_tokens()
        crm.read("Contact", [records[0].id])

    for attempt in (write_a_foreign_field, read_with_an_expired_session):
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    assert len(errors) == 2 and caplog.records
    personal = {
        value
        for record in records
        for name in ("Email", "Phone", "MobilePhone")
        if isinstance(value := record.fields.get(name), str) and len(value) > 5
    }
    assert len(personal) > 100
    texts = [caplog.text, *(str(error) for error in errors), *(repr(outcome) for outcome in outcomes)]
    leaked = [value for value in personal if any(value in text for text in texts)]
    assert leaked == []


# -- describe ------------------------------------------------------------------------------------------------
def test_describe_and_value_counts_return_what_the_sandbox_holds(large: SalesforceSandbox) -> None:
    """Own, parent and computed fields with types, writability and picklist values; counts match the records."""
    crm = adapter(large)
    large.state.reset_counters()
    contact = crm.describe("Contact")
    assert contact["LeadSource"].values == LEAD_SOURCES and contact["LeadSource"].type == "picklist"
    assert contact["Account.Type"].values == ACCOUNT_TYPES
    assert contact["Individual.HasOptedOutSolicit"].type == "boolean"
    assert contact["Do_Not_Cold_Call__c"].writable and not contact["SystemModstamp"].writable
    assert contact["Last_Won_Close_Date"].type == "date" and not contact["Last_Won_Close_Date"].writable
    assert contact["Email"].values is None
    crm.describe("Contact")
    assert large.state.counters["GET describe"] == 3  # Contact, Account, Individual: once each

    sources: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for index in range(5200):
        row = large.state.record("Contact", make_id("003", index))
        assert row is not None
        if row["LeadSource"]:
            sources[row["LeadSource"].lower()] += 1  # SOQL groups text case-insensitively
        account = large.state.record("Account", row["AccountId"]) if row["AccountId"] else None
        if account and account["Type"]:
            kinds[account["Type"].lower()] += 1
    assert folded(crm.value_counts("Contact", "LeadSource")) == dict(sources)
    assert folded(crm.value_counts("Contact", "Account.Type")) == dict(kinds)
    open_leads: Counter[str] = Counter()
    for index in range(600):
        lead = large.state.record("Lead", make_id("00Q", index))
        assert lead is not None
        if lead["LeadSource"] and not lead["IsConverted"]:
            open_leads[lead["LeadSource"].lower()] += 1
    assert folded(crm.value_counts("Lead", "LeadSource")) == dict(open_leads)
