"""Pure: whether a record read back from the CRM holds the values a write sent it.

A run that dies between sending a write and recording its outcome leaves pending audit entries holding the
values sent. The next run reads those records and settles each entry by comparing: the connector's fields by
value (spelling aside, as the plan compares them), and ``checked`` — a new timestamp on every write, so the
mark of this write and no other — to the second, the precision both CRMs keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.mapping.writeback import same_value

__all__ = ["holds_sent_values"]


def holds_sent_values(sent: Mapping[str, Any], current: Mapping[str, Any], *, checked: str) -> bool:
    """Whether ``current`` (a record's fields as read) holds every value of ``sent`` (one write's values)."""
    for name, value in sent.items():
        if name == checked:
            if not _same_second(current.get(name), value):
                return False
        elif not same_value(current.get(name), value):
            return False
    return True


def _same_second(current: Any, sent: Any) -> bool:
    read, wrote = _moment(current), _moment(sent)
    if read is None or wrote is None:
        return same_value(current, sent)
    return read.replace(microsecond=0) == wrote.replace(microsecond=0)


def _moment(value: Any) -> datetime | None:
    """A datetime from an ISO 8601 text or epoch milliseconds (how the CRMs spell ``checked``); None if neither."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
