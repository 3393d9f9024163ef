"""Salesforce query rows -> CrmRecord. Pure.

A row holds parent fields as nested objects (`{"Account": {"attributes": …, "Type": "Prospect"}}`, or
`"Account": null` when the lookup is empty); a CrmRecord holds them flat under the mapping's own spelling
(`Account.Type`). Names are matched case-insensitively, as Salesforce does. Values stay as the REST API sends
them (strings for dates and datetimes), except `modified` and `created` (SystemModstamp and CreatedDate), which
are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.crm.port import CrmRecord
from connector.errors import CrmContractError

__all__ = ["parse_datetime", "position", "to_record", "value_at"]


def parse_datetime(text: str) -> datetime:
    """A REST datetime (`2024-05-01T10:30:00.000+0000`, or with `Z` / `+00:00`) as an aware UTC datetime."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CrmContractError("Salesforce sent a datetime in an unknown format") from None
    if moment.tzinfo is None:
        raise CrmContractError("Salesforce sent a datetime without a time zone")
    return moment.astimezone(UTC)


def _get(row: Mapping[str, Any], key: str) -> Any:
    if key in row:
        return row[key]
    lowered = key.lower()
    return next((value for name, value in row.items() if name.lower() == lowered), None)


def value_at(row: Mapping[str, Any], path: str) -> Any:
    """The value of `Field` or `Relationship.Field` in a row; None when a lookup on the way is empty."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = _get(value, part)
    return value


def position(row: Mapping[str, Any]) -> tuple[datetime, str]:
    """(SystemModstamp, Id) of a row: its place in `ORDER BY SystemModstamp, Id`."""
    stamp, record_id = value_at(row, "SystemModstamp"), value_at(row, "Id")
    if not isinstance(stamp, str) or not isinstance(record_id, str):
        raise CrmContractError("Salesforce sent a row without Id or SystemModstamp")
    return parse_datetime(stamp), record_id


def to_record(
    object_type: str, row: Mapping[str, Any], fields: Sequence[str], *, extra: Mapping[str, Any] | None = None
) -> CrmRecord:
    """One row as a CrmRecord; a deleted row (queryAll, IsDeleted) keeps its id and time, no values."""
    modified, record_id = position(row)
    stamp = value_at(row, "CreatedDate")
    created = parse_datetime(stamp) if isinstance(stamp, str) else None
    if value_at(row, "IsDeleted") is True:
        return CrmRecord(object_type, record_id, {}, modified, deleted=True, created=created)
    values = {name: value_at(row, name) for name in fields}
    values.update(extra or {})
    return CrmRecord(object_type, record_id, values, modified, created=created)
