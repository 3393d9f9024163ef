"""The change report of a sync (``--report FILE.csv|.json|.html``): one row per person whose flags change.

A row says what a marketing lead and a DPO ask about one person: the country, the category (lawful use), both
flags before and after, whether a person must review the record, and the reasons in plain words with their rule
ids. It carries the CRM's record id and no contact data: no name, e-mail address or phone number. Rows are
streamed to disk as the run goes. In the CSV form every text cell that a spreadsheet would read as a formula is
neutralised; the HTML form escapes every value (the category and reasons can be edited in the CRM).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from connector.admin.templating import environment
from connector.sync.pipeline import Decided

__all__ = ["FORMATS", "ChangeReport", "PersonRow", "person_row", "spreadsheet_safe"]

FORMATS = (".csv", ".json", ".html")
COLUMNS = (
    *("crm", "object_type", "record_id", "status", "country", "category_before", "category"),
    *("do_not_cold_call_before", "do_not_cold_call", "email_allowed_before", "email_allowed"),
    *("review_needed", "rules", "reasons"),
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PersonRow = dict[str, Any]
"""One person's row: the keys of ``COLUMNS``; ``reasons`` a list of {rule, channel, text}."""


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs: any CRM user can edit the connector's own fields, so a
    value such as ``=HYPERLINK(…)`` or ``+cmd|…`` is prefixed with a quote (OWASP CSV injection). Numbers and
    booleans pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _flag(value: Any) -> bool | None:
    """A CRM checkbox as read (``True``, ``"false"``, empty) as a boolean; None when never written."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def person_row(crm: str, item: Decided, status: str) -> PersonRow:
    """The report row of one decided record: before-values from its planned changes (a field that does not
    change was already what the decision says)."""
    decision = item.decision
    after: dict[str, Any] = {
        "lawful_use": decision.lawful_use.value,
        "do_not_cold_call": decision.do_not_cold_call,
        "email_allowed": decision.email_allowed,
    }
    before: dict[str, Any] = dict(after)
    for change in item.plan.changes:
        if change.role in before:
            before[change.role] = _text(change.old) if change.role == "lawful_use" else _flag(change.old)
    return {
        "crm": crm,
        "object_type": item.record.object_type,
        "record_id": item.record.id,
        "status": status,
        "country": item.facts.country,
        "category_before": before["lawful_use"],
        "category": after["lawful_use"],
        "do_not_cold_call_before": before["do_not_cold_call"],
        "do_not_cold_call": after["do_not_cold_call"],
        "email_allowed_before": before["email_allowed"],
        "email_allowed": after["email_allowed"],
        "review_needed": decision.review_needed,
        "rules": list(dict.fromkeys(reason.rule for reason in decision.reasons)),
        "reasons": [
            {"rule": reason.rule, "channel": reason.channel, "text": reason.text}
            for reason in decision.reasons
        ],
    }


def _csv_cells(row: Mapping[str, Any]) -> list[Any]:
    flat = dict(row)
    flat["rules"] = " ".join(row["rules"])
    flat["reasons"] = "; ".join(f"{reason['rule']}: {reason['text']}" for reason in row["reasons"])
    for name, value in flat.items():
        if isinstance(value, bool) or value is None:
            flat[name] = {True: "yes", False: "no", None: ""}[value]
    return [spreadsheet_safe(flat[column]) for column in COLUMNS]


class ChangeReport:
    """A CSV, JSON or HTML file of the people whose flags a run changes; the format follows the suffix.

    Passed to the sync as its ``on_change``; ``crm`` names the CRM of the rows that follow."""

    def __init__(self, path: Path, *, now: datetime | None = None) -> None:
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise ValueError("the report file must end in .csv, .json or .html")
        self.path, self.crm, self.count, self.format = path, "", 0, suffix[1:]
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        if self.format == "json":
            self._handle.write('{"changes": [\n')
        elif self.format == "csv":
            self._csv = csv.writer(self._handle)
            self._csv.writerow(COLUMNS)
        else:
            self._html = environment().get_template("changes.html.j2").module
            created = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
            self._handle.write(str(self._html.head(created)))  # type: ignore[attr-defined]

    def __call__(self, item: Decided, status: str) -> None:
        row = person_row(self.crm, item, status)
        if self.format == "json":
            self._handle.write((",\n" if self.count else "") + json.dumps(row, ensure_ascii=False))
        elif self.format == "csv":
            self._csv.writerow(_csv_cells(row))
        else:
            self._handle.write(str(self._html.row(row)))  # type: ignore[attr-defined]
        self.count += 1

    def close(self) -> None:
        if self.format == "json":
            self._handle.write(f'\n], "count": {self.count}}}\n')
        elif self.format == "html":
            self._handle.write(str(self._html.tail(self.count)))  # type: ignore[attr-defined]
        self._handle.close()

    def __enter__(self) -> ChangeReport:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
