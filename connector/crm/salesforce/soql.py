"""SOQL text for the adapter's queries. Pure: names are checked, literals are quoted, nothing is sent.

Field names come from an admin-edited mapping file and record ids from webhooks, so both are checked against
their shapes before they reach a statement. Callers keep id lists at 200, so a GET query URL stays well below
the 16,384 bytes Salesforce accepts for the URI and headers together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from connector.errors import ConfigurationError

__all__ = [
    "datetime_literal",
    "id_list",
    "is_record_id",
    "keyset_after",
    "keyset_through",
    "name",
    "select",
    "string_literal",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def name(text: str) -> str:
    """An object or field name (`Account.Type` allowed), or ConfigurationError: it goes into SOQL as is."""
    if not _NAME.match(text):
        raise ConfigurationError(f"not a Salesforce field or object name: {text!r}")
    return text


def is_record_id(text: str) -> bool:
    """Whether the text has the shape of a 15- or 18-character Salesforce id."""
    return bool(_RECORD_ID.match(text))


def string_literal(value: str) -> str:
    """A quoted SOQL string with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def datetime_literal(moment: datetime) -> str:
    """An unquoted SOQL dateTime in UTC (`2024-05-01T10:30:00Z`, milliseconds only when present)."""
    utc = moment.astimezone(UTC)
    millis = f".{utc.microsecond // 1000:03d}" if utc.microsecond >= 1000 else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"


def id_list(ids: Iterable[str]) -> str:
    """`('001…','001…')` for an IN condition; the ids must already be checked with `is_record_id`."""
    return "(" + ",".join(string_literal(record_id) for record_id in ids) + ")"


def keyset_after(modified: datetime, record_id: str) -> str:
    """The condition for rows strictly after (SystemModstamp, Id) in `ORDER BY SystemModstamp, Id` order."""
    stamp = datetime_literal(modified)
    return f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {string_literal(record_id)}))"


def keyset_through(modified: datetime, record_id: str) -> str:
    """The condition for rows up to and including (SystemModstamp, Id) in the same order."""
    stamp = datetime_literal(modified)
    return f"(SystemModstamp < {stamp} OR (SystemModstamp = {stamp} AND Id <= {string_literal(record_id)}))"


def select(
    fields: Sequence[str],
    sobject: str,
    *,
    where: Sequence[str] = (),
    group_by: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """A SELECT statement; `where` conditions are joined with AND."""
    parts = [f"SELECT {', '.join(fields)} FROM {sobject}"]
    if where:
        parts.append("WHERE " + " AND ".join(where))
    if group_by:
        parts.append("GROUP BY " + ", ".join(group_by))
    if order_by:
        parts.append("ORDER BY " + ", ".join(order_by))
    if limit is not None:
        parts.append(f"LIMIT {limit}")
    return " ".join(parts)
