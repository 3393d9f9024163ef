"""What a write sends, and what its answers mean. Pure.

Values become JSON for sObject Collections (datetimes as ISO-8601 UTC, dates as `YYYY-MM-DD`) or CSV cells for
Bulk API 2.0 (`true`/`false`, and `#N/A` to clear a field, since an empty cell leaves it unchanged). A
per-record answer becomes a WriteOutcome, a lock to retry, or a field-security problem for the whole run.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from connector.crm.port import FieldUpdate, WriteOutcome
from connector.crm.salesforce.translate import FIELD_ERRORS, GONE_ERRORS
from connector.errors import ConfigurationError, CrmContractError

__all__ = [
    "LOCKED",
    "UNPROCESSED",
    "FieldSecurity",
    "bulk_csv",
    "bulk_results",
    "check_own_fields",
    "collection_record",
    "csv_lines",
    "csv_row",
    "judge",
    "judge_collection_result",
    "unprocessed_ids",
]

LOCKED = "UNABLE_TO_LOCK_ROW"
UNPROCESSED = "BULK_UNPROCESSED"
"""The code of a row a Bulk job never processed (the job was aborted): not written, read again next run."""


@dataclass(frozen=True, slots=True)
class FieldSecurity:
    """The integration user may not write these fields (or they do not exist): a person must act."""

    code: str
    fields: tuple[str, ...]


Verdict = WriteOutcome | FieldSecurity | None
"""A record's result: its outcome, a field-security problem, or None when it was locked (try it again)."""


def check_own_fields(updates: Iterable[FieldUpdate], own: Sequence[str]) -> None:
    """Refuse any update of a field that is not one of the connector's own (write-back or mirror) fields."""
    allowed = {name.lower() for name in own}
    foreign = sorted(
        {f"{u.object_type}.{name}" for u in updates for name in u.values if name.lower() not in allowed}
    )
    if foreign:
        raise ConfigurationError(
            f"refusing to write fields that are not the connector's own: {', '.join(foreign)}",
            problems=tuple(foreign),
        )


def _json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} to Salesforce")


def collection_record(update: FieldUpdate) -> dict[str, Any]:
    """One entry of a `composite/sobjects` PATCH body."""
    values = {name: _json_value(value) for name, value in update.values.items()}
    return {"attributes": {"type": update.object_type}, "id": update.record_id, **values}


def csv_row(update: FieldUpdate) -> dict[str, str]:
    """One Bulk API 2.0 CSV row."""
    row = {"Id": update.record_id}
    for name, value in update.values.items():
        cell = _json_value(value)
        row[name] = (
            "#N/A"
            if cell in (None, "")
            else "true"
            if cell is True
            else "false"
            if cell is False
            else str(cell)
        )
    return row


def judge(record_id: str, *, code: str | None, fields: Sequence[str] = ()) -> Verdict:
    """The verdict for one record: `code` None means it was written."""
    if code is None:
        return WriteOutcome(record_id, ok=True)
    if code == LOCKED:
        return None
    if code in FIELD_ERRORS:
        return FieldSecurity(code, tuple(fields))
    return WriteOutcome(record_id, ok=False, code=code, gone=code in GONE_ERRORS)


def judge_collection_result(record_id: str, result: Any) -> Verdict:
    """The verdict from one entry of a `composite/sobjects` answer (errors carry `statusCode`)."""
    if not isinstance(result, Mapping) or not isinstance(result.get("success"), bool):
        raise CrmContractError("Salesforce sent a collection result of an unexpected shape")
    if result["success"]:
        return judge(record_id, code=None)
    errors = result.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], Mapping) else {}
    named = first.get("fields")
    fields = [str(name) for name in named] if isinstance(named, list) else []
    return judge(record_id, code=str(first.get("statusCode") or "UNKNOWN_EXCEPTION"), fields=fields)


def csv_lines(text: str) -> Iterator[str]:
    """The lines of a CSV text, ends kept, for `csv.reader` (a quoted cell may span lines): unlike a StringIO
    over the text, no second copy of a chunk of tens of megabytes is made."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def bulk_results(successful: str, failed: str) -> Iterator[tuple[str, str | None]]:
    """(record id, error code or None) from a Bulk API 2.0 job's successful and failed result CSVs.

    `sf__Error` reads `CODE:message:fields`; only the code is kept.
    """
    for text, failures in ((successful, False), (failed, True)):
        for row in csv.DictReader(csv_lines(text)):
            record_id = row.get("Id") or row.get("sf__Id") or ""
            code = (
                (row.get("sf__Error") or "UNKNOWN_EXCEPTION").split(":", 1)[0].strip() if failures else None
            )
            yield record_id, code


def bulk_csv(updates: Sequence[FieldUpdate]) -> bytes:
    """The CSV upload of one Bulk API 2.0 update job: `Id` and every field any update writes; a field an update
    leaves alone is an empty cell (Salesforce leaves it unchanged)."""
    columns = ["Id", *sorted({name for update in updates for name in update.values})]
    lines = _Lines()
    writer = csv.DictWriter(lines, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(csv_row(update) for update in updates)
    return "".join(lines).encode("utf-8")


class _Lines(list[str]):
    """A file for `csv.writer` that keeps the lines (no growing buffer of four bytes a character)."""

    def write(self, line: str) -> int:
        self.append(line)
        return len(line)


def unprocessed_ids(text: str) -> Iterator[str]:
    """The record ids of a job's `unprocessedrecords` CSV (the rows as uploaded)."""
    for row in csv.DictReader(csv_lines(text)):
        record_id = row.get("Id") or ""
        if record_id:
            yield record_id
