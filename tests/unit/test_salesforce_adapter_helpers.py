"""The Salesforce adapter's pure parts: SOQL text, rows to records, write payloads and verdicts, quota, setup."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connector.crm.port import CrmRecord, FieldUpdate, WriteOutcome
from connector.crm.salesforce.definitions import field_definitions
from connector.crm.salesforce.fields import WON_DEAL_FIELD, object_fields, own_fields
from connector.crm.salesforce.payload import (
    FieldSecurity,
    bulk_results,
    check_own_fields,
    collection_record,
    csv_row,
    judge_collection_result,
)
from connector.crm.salesforce.quota import QuotaMeter, parse_limit_info, parse_retry_after
from connector.crm.salesforce.records import parse_datetime, to_record, value_at
from connector.crm.salesforce.soql import datetime_literal, is_record_id, keyset_after, name, string_literal
from connector.errors import ConfigurationError, QuotaExhaustedError
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import OWN_FIELDS
from connector.models import LawfulUse

MAPPING = load_mapping("salesforce")


class TestSoql:
    def test_literals_are_quoted_and_datetimes_are_utc(self) -> None:
        """Strings escape quotes and backslashes; datetimes are UTC with milliseconds only when present."""
        assert string_literal("O'Brien\\") == "'O\\'Brien\\\\'"
        assert datetime_literal(datetime(2024, 5, 1, 12, 30, tzinfo=UTC)) == "2024-05-01T12:30:00Z"
        moment = datetime.fromisoformat("2024-05-01T14:30:00.250+02:00")
        assert datetime_literal(moment) == "2024-05-01T12:30:00.250Z"

    def test_keyset_condition_reads_strictly_after_a_row(self) -> None:
        """The keyset condition names the stamp twice and the id once."""
        condition = keyset_after(datetime(2024, 5, 1, tzinfo=UTC), "003Sb0000000001AAA")
        assert condition == (
            "(SystemModstamp > 2024-05-01T00:00:00Z OR "
            "(SystemModstamp = 2024-05-01T00:00:00Z AND Id > '003Sb0000000001AAA'))"
        )

    def test_names_and_ids_are_checked_before_they_reach_soql(self) -> None:
        """Injection attempts in field names fail; ids must be 15 or 18 letters and digits."""
        assert name("Account.Legal_Form__c") == "Account.Legal_Form__c"
        with pytest.raises(ConfigurationError):
            name("Email FROM User --")
        assert is_record_id("003Sb0000000001") and is_record_id("003Sb0000000001AAA")
        assert not is_record_id("003Sb000000001'") and not is_record_id("003")


class TestFieldsAndRecords:
    def test_a_pull_selects_mapped_own_and_system_fields_once(self) -> None:
        """Contact reads its mapped fields and the write-back fields; AccountId for the won-deal lookup."""
        contact = object_fields(MAPPING, "Contact")
        assert contact.won_deals and WON_DEAL_FIELD not in contact.read
        assert contact.select_list[:5] == ("Id", "SystemModstamp", "IsDeleted", "CreatedDate", "AccountId")
        assert len(set(contact.select_list)) == len(contact.select_list)
        assert set(own_fields(MAPPING)) <= set(contact.read) and contact.record_fields[-1] == WON_DEAL_FIELD
        assert not object_fields(MAPPING, "Lead").won_deals
        with pytest.raises(ConfigurationError):
            object_fields(MAPPING, "Opportunity")

    def test_rows_become_flat_records_with_parent_paths(self) -> None:
        """Nested parents flatten to dotted names (case-insensitively); an empty lookup gives None."""
        row = {
            "attributes": {"type": "Contact"}, "Id": "003A", "SystemModstamp": "2024-05-01T10:30:00.000+0000",
            "CreatedDate": "2020-01-01T00:00:00.000+0000", "IsDeleted": False,
            "Account": {"attributes": {"type": "Account"}, "Type": "Prospect"}, "Individual": None,
        }  # fmt: skip
        record = to_record("Contact", row, ["account.type", "Individual.HasOptedOutSolicit"], extra={"X": 1})
        assert record == CrmRecord(
            "Contact", "003A", {"account.type": "Prospect", "Individual.HasOptedOutSolicit": None, "X": 1},
            datetime(2024, 5, 1, 10, 30, tzinfo=UTC), created=datetime(2020, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        gone = to_record("Contact", row | {"IsDeleted": True}, ["Account.Type"])
        assert gone.deleted and gone.fields == {}
        assert value_at(row, "Account.Missing") is None
        assert parse_datetime("2024-05-01T10:30:00Z") == parse_datetime("2024-05-01T12:30:00+02:00")


class TestPayload:
    def test_values_become_json_and_csv_cells(self) -> None:
        """Datetimes in UTC with milliseconds, enums by value; CSV booleans in lower case and #N/A for empty."""
        update = FieldUpdate(
            "Contact", "003A",
            {"Lawful_Use__c": LawfulUse.OPT_IN, "Lawful_Use_Checked__c": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
             "Email_Allowed__c": False, "Lawful_Use_Reason__c": "", "X__c": date(2026, 1, 2)},
        )  # fmt: skip
        assert collection_record(update) == {
            "attributes": {"type": "Contact"}, "id": "003A", "Lawful_Use__c": "opt_in",
            "Lawful_Use_Checked__c": "2026-01-02T03:04:05.000Z", "Email_Allowed__c": False,
            "Lawful_Use_Reason__c": "", "X__c": "2026-01-02",
        }  # fmt: skip
        assert (
            csv_row(update)["Email_Allowed__c"] == "false"
            and csv_row(update)["Lawful_Use_Reason__c"] == "#N/A"
        )

    def test_collection_results_become_outcomes_locks_or_field_problems(self) -> None:
        """Written, gone, rejected, locked (None) and field security are told apart by statusCode."""

        def failed(code: str, fields: list[str] | None = None) -> dict[str, object]:
            return {
                "success": False,
                "errors": [{"statusCode": code, "message": "x@y.z", "fields": fields or []}],
            }

        assert judge_collection_result("1", {"id": "1", "success": True, "errors": []}) == WriteOutcome(
            "1", ok=True
        )
        assert judge_collection_result("1", failed("ENTITY_IS_DELETED")) == WriteOutcome(
            "1", ok=False, code="ENTITY_IS_DELETED", gone=True
        )
        rejected = judge_collection_result("1", failed("FIELD_CUSTOM_VALIDATION_EXCEPTION"))
        assert rejected == WriteOutcome("1", ok=False, code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
        assert judge_collection_result("1", failed("UNABLE_TO_LOCK_ROW")) is None
        assert judge_collection_result(
            "1", failed("INVALID_FIELD_FOR_INSERT_UPDATE", ["A__c"])
        ) == FieldSecurity("INVALID_FIELD_FOR_INSERT_UPDATE", ("A__c",))

    def test_bulk_results_keep_only_the_error_code(self) -> None:
        """`sf__Error` is `CODE:message:fields`; the message (which may quote values) is dropped."""
        ok = '"sf__Id","sf__Created","Id","A__c"\n"003A","false","003A","true"\n'
        failed = '"sf__Id","sf__Error","Id","A__c"\n"003B","ENTITY_IS_DELETED:entity is deleted:--","003B","true"\n'
        assert list(bulk_results(ok, failed)) == [("003A", None), ("003B", "ENTITY_IS_DELETED")]

    def test_only_the_connectors_own_fields_may_be_written(self) -> None:
        """A standard field outside write-back and mirror is refused, named in the error."""
        check_own_fields([FieldUpdate("Contact", "1", {"do_not_cold_call__c": True})], own_fields(MAPPING))
        with pytest.raises(ConfigurationError, match=r"Contact\.HasOptedOutOfEmail"):
            check_own_fields([FieldUpdate("Contact", "1", {"HasOptedOutOfEmail": True})], own_fields(MAPPING))


class TestQuota:
    def test_limit_info_and_retry_after_are_parsed(self) -> None:
        """`api-usage=N/M` is read even next to a per-app part; Retry-After in seconds only."""
        assert parse_limit_info("api-usage=42/15000") == (42, 15000)
        assert parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=25/5000") == (25, 5000)
        assert parse_limit_info("per-app-api-usage=17/250(appName=x)") is None
        assert parse_retry_after("2") == 2.0 and parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None

    def test_the_budget_leaves_the_reserve_and_says_so_in_counts(self) -> None:
        """With 20 % reserved, 800 of 1,000 requests is the stop; the message has counts only."""
        meter = QuotaMeter(reserve=0.2)
        meter.check()  # nothing known yet: go
        meter.observe({"Sforce-Limit-Info": "api-usage=799/1000"})
        meter.check()
        meter.observe({"Sforce-Limit-Info": "api-usage=800/1000"})
        with pytest.raises(QuotaExhaustedError, match="800 of 1000"):
            meter.check()
        assert meter.usage().remaining == 200


def test_install_defines_the_own_fields_on_every_object_with_labels_and_the_lawful_use_values() -> None:
    """Checkboxes default false, the picklist lists LawfulUse, the reason is Text(255), all with help texts."""
    definitions = {definition.full_name: definition.metadata for definition in field_definitions(MAPPING)}
    assert len(definitions) == len(OWN_FIELDS) * len(MAPPING.objects)
    assert definitions["Lead.Do_Not_Cold_Call__c"]["type"] == "Checkbox"
    assert definitions["Lead.Do_Not_Cold_Call__c"]["defaultValue"] == "false"
    values = definitions["Contact.Lawful_Use__c"]["valueSet"]["valueSetDefinition"]["value"]
    assert [value["fullName"] for value in values] == [use.value for use in LawfulUse]
    reason = definitions["Contact.Lawful_Use_Reason__c"]
    assert (reason["type"], reason["length"]) == ("Text", 255)
    assert all(metadata["label"] and metadata["inlineHelpText"] for metadata in definitions.values())
