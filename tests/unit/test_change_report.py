"""The change report: one row per planned change, and CSV cells that a spreadsheet never runs as formulas."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from connector.sync.plan import PlannedChange
from connector.sync.report import ChangeReport, spreadsheet_safe

HOSTILE = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_is_kept_as_text(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Call no (G3 …)", "", True, 3, None, "a=b"])
def test_ordinary_values_pass_unchanged(value: object) -> None:
    assert spreadsheet_safe(value) == value


def test_a_csv_report_neutralises_every_cell_a_crm_user_could_have_written(tmp_path: Path) -> None:
    path = tmp_path / "changes.csv"
    with ChangeReport(path) as report:
        report.crm = "salesforce"
        for value in HOSTILE:
            report(
                PlannedChange("Contact", "003A", "Lawful_Use_Reason__c", value, "Call yes", ("N7",)),
                "planned",
            )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["old"] for row in rows] == ["'" + value for value in HOSTILE]
    assert all(row["new"] == "Call yes" for row in rows)


def test_a_json_report_keeps_values_as_they_are(tmp_path: Path) -> None:
    """JSON is read by programs, not spreadsheets: values stay exact."""
    path = tmp_path / "changes.json"
    with ChangeReport(path) as report:
        report(PlannedChange("Contact", "003A", "Lawful_Use__c", "=1+1", "opt_in", ("C1",)), "planned")
    assert json.loads(path.read_text(encoding="utf-8"))["changes"][0]["old"] == "=1+1"
