"""A Bulk results row becomes the CrmRecord the REST row would: typed cells, parent fields, empty lookups,
deleted rows, fields the header lacks."""

from __future__ import annotations

from connector.crm.salesforce.bulk_pull import CsvHeader, row_from_csv
from connector.crm.salesforce.records import to_record

HEADER = ["Id", "SystemModstamp", "IsDeleted", "CreatedDate", "Email", "HasOptedOutOfEmail", "Account.Type",
          "NumberOfEmployees", "AnnualRevenue"]  # fmt: skip
TYPES = {"isdeleted": "boolean", "hasoptedoutofemail": "boolean", "numberofemployees": "int",
         "annualrevenue": "currency", "systemmodstamp": "datetime", "createddate": "datetime"}  # fmt: skip
NAMES = ("Email", "HasOptedOutOfEmail", "account.type", "NumberOfEmployees", "AnnualRevenue", "Missing__c")
ROWS = [
    ["003A", "2026-01-02T03:04:05.000+0000", "false", "2025-01-01T00:00:00.000+0000", "a@b.nl", "true",
     "Customer", "12", "1.5"],
    ["003B", "2026-01-02T03:04:06.000+0000", "false", "", "", "false", "", "", ""],
    ["003C", "2026-01-02T03:04:07.000+0000", "true", "2025-01-01T00:00:00.000+0000", "x@y.nl", "", "", "", ""],
]  # fmt: skip


def test_a_row_read_from_its_cells_is_the_record_of_its_rest_row() -> None:
    header = CsvHeader(HEADER, TYPES)
    for cells in ROWS:
        rest = row_from_csv(dict(zip(HEADER, cells, strict=True)), TYPES)
        extra = {"Extra": 1}
        assert header.record("Contact", cells, NAMES, extra) == to_record("Contact", rest, NAMES, extra=extra)
        assert header.position(cells) == (to_record("Contact", rest, ()).modified, cells[0])


def test_an_empty_lookup_reads_as_null_and_a_filled_one_nests() -> None:
    header = CsvHeader(HEADER, TYPES)
    assert header.row(ROWS[1])["Account"] is None
    assert header.row(ROWS[0])["Account"] == {"Type": "Customer"}
    assert header.row(ROWS[0])["NumberOfEmployees"] == 12
