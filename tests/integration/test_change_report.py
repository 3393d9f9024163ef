"""The change report: one row per person with both flags before and after and the reasons; no contact data; CSV
cells a spreadsheet never runs as formulas; HTML that shows a hostile value as text."""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.commands.changes import COLUMNS, ChangeReport, person_row, spreadsheet_safe
from connector.models import Reason
from connector.store import Store, open_store
from connector.sync.pipeline import Decided
from connector.sync.run import SyncOptions, run_sync
from tests.conftest import NOW
from tests.fakes import FakeCrm
from tests.integration.test_sync_run import MAPPING, POLICY

HOSTILE = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_is_kept_as_text(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Call no (G3 …)", "", True, 3, None, "a=b"])
def test_ordinary_values_pass_unchanged(value: object) -> None:
    assert spreadsheet_safe(value) == value


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def decided_records(store: Store, crm: FakeCrm, *, full: bool = True) -> list[tuple[Decided, str]]:
    seen: list[tuple[Decided, str]] = []
    run_sync(
        crm, MAPPING, POLICY, store, SyncOptions(full=full), clock=crm.now, today=NOW,
        on_change=lambda item, status: seen.append((item, status)),
    )  # fmt: skip
    return seen


def test_one_row_per_person_with_flags_before_and_after_and_the_reasons(store: Store) -> None:
    crm = FakeCrm.seeded(30)
    first = decided_records(store, crm)
    assert len(first) == 30, "every record changes on the first run, each once"
    row = person_row("salesforce", *first[0])
    assert set(row) == set(COLUMNS)
    assert row["do_not_cold_call_before"] is None and row["email_allowed_before"] is None, "never written"
    assert row["rules"] and all(reason["text"] for reason in row["reasons"])

    opted_out = next(i for i in crm.records if crm.records[i]["Email_Allowed__c"] is True)
    crm.edit(opted_out, HasOptedOutOfEmail=True)
    [(item, status)] = decided_records(store, crm, full=False)
    row = person_row("salesforce", item, status)
    assert (row["record_id"], row["status"]) == (opted_out, "written")
    assert (row["email_allowed_before"], row["email_allowed"]) == (True, False)
    assert row["do_not_cold_call_before"] == row["do_not_cold_call"], "an unchanged flag shows its value"
    assert row["country"] == item.facts.country


@pytest.mark.parametrize("suffix", [".csv", ".json", ".html"])
def test_no_report_form_carries_an_email_address_or_phone_number(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    crm = FakeCrm.seeded(40)
    path = tmp_path / f"changes{suffix}"
    with ChangeReport(path) as report:
        report.crm = "salesforce"
        for item, status in decided_records(store, crm):
            report(item, status)
    text = path.read_text(encoding="utf-8")
    assert report.count == 40 and all(record_id in text for record_id in crm.records)
    for fields in crm.records.values():
        assert fields["Email"] not in text
        assert fields["Phone"] is None or fields["Phone"] not in text
    assert not re.search(r"[\w.]+@[\w.]+", text), "no e-mail address at all"


def hostile_item(store: Store) -> tuple[Decided, str]:
    """A decided record whose category and reason texts came back from the CRM as markup and formulas."""
    item, status = decided_records(store, FakeCrm.seeded(1))[0]
    reasons = (Reason(rule="G3", channel="both", citation="x", text=SCRIPT), Reason(rule="=1+1", channel="phone", citation="x", text="=HYPERLINK(1)"))  # fmt: skip
    decision = item.decision.model_copy(update={"reasons": reasons})
    return Decided(item.record, item.facts, decision, item.plan, item.grounds), status


def test_a_csv_report_neutralises_every_text_cell(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "changes.csv"
    with ChangeReport(path) as report:
        report.crm = "=cmd"
        report(*hostile_item(store))
    with path.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["crm"] == "'=cmd" and row["rules"] == "G3 =1+1"
    assert row["reasons"].startswith("G3: <script>"), "text stays text in a CSV"
    assert row["review_needed"] in ("yes", "no")


def test_a_json_report_keeps_values_as_they_are(store: Store, tmp_path: Path) -> None:
    """JSON is read by programs, not spreadsheets: values stay exact."""
    path = tmp_path / "changes.json"
    with ChangeReport(path) as report:
        report(*hostile_item(store))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["count"] == 1 and data["changes"][0]["reasons"][1]["text"] == "=HYPERLINK(1)"


def test_an_html_report_shows_markup_from_the_crm_as_text(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "changes.html"
    with ChangeReport(path) as report:
        report.crm = "salesforce"
        report(*hostile_item(store))
    text = path.read_text(encoding="utf-8")
    assert SCRIPT not in text and html.escape(SCRIPT, quote=False) in text
    assert "<script" not in text.lower(), "the page runs no script at all"
    assert text.rstrip().endswith("</html>") and "1 person listed" in text


def test_an_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.csv, \.json or \.html"):
        ChangeReport(tmp_path / "changes.xlsx")
