"""The change report of a sync (``--report FILE.csv|FILE.json``): every planned change, streamed to disk.

Rows carry record ids, field names, the connector's own old and new values and rule ids — no contact data. In
the CSV form every text cell that a spreadsheet would read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from connector.sync.plan import PlannedChange

__all__ = ["ChangeReport", "spreadsheet_safe"]

_COLUMNS = ("crm", "object_type", "record_id", "field", "old", "new", "status", "rules")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs: any CRM user can edit the connector's own fields, so a
    value such as ``=HYPERLINK(…)`` or ``+cmd|…`` is prefixed with a quote (OWASP CSV injection). Numbers and
    booleans pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class ChangeReport:
    """A CSV or JSON file of planned changes; the format follows the file's suffix."""

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ValueError("the report file must end in .csv or .json")
        self.path, self.crm, self.count = path, "", 0
        self._json = suffix == ".json"
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        if self._json:
            self._handle.write('{"changes": [\n')
        else:
            self._csv = csv.writer(self._handle)
            self._csv.writerow(_COLUMNS)

    def __call__(self, change: PlannedChange, status: str) -> None:
        row: dict[str, Any] = {
            "crm": self.crm,
            "object_type": change.object_type,
            "record_id": change.record_id,
            "field": change.field,
            "old": change.old,
            "new": change.new,
            "status": status,
            "rules": list(change.rules),
        }
        if self._json:
            self._handle.write(
                (",\n" if self.count else "") + json.dumps(row, ensure_ascii=False, default=str)
            )
        else:
            row["rules"] = " ".join(change.rules)
            self._csv.writerow([spreadsheet_safe(row[c]) for c in _COLUMNS])
        self.count += 1

    def close(self) -> None:
        if self._json:
            self._handle.write(f'\n], "count": {self.count}}}\n')
        self._handle.close()

    def __enter__(self) -> ChangeReport:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
