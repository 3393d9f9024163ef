"""A full pull through one Bulk API 2.0 query job, for objects above `bulk_threshold` records.

The REST pull's contract holds: the job selects the rows up to the pull's horizon (its newest row when the pull
began), deleted ones included (`queryAll`), in `ORDER BY SystemModstamp, Id`, so each page of `page_size` rows
carries the same cursor a REST page would (its last row's position) and a record changed while the job runs
moves past the horizon for the next pull to read. Salesforce advises against ORDER BY in Bulk queries (it turns
off PK chunking); the order is what lets a page carry a cursor and select its own rows again for the consent
lookup, so it stays.

Results are read a chunk at a time (`maxRecords` rows, `Sforce-Locator` to the next), parsed and handed on
`page_size` rows at a time: memory holds one chunk's text, never the whole result. CSV cells become the values
the REST API sends: empty cells are null, checkbox fields `true`/`false` become booleans and numbers become
numbers (by the object's describe), parent fields (`Account.Type`) nest as in a REST row. The latest won
Opportunity per account comes from a second Bulk query (won Opportunities, read once into a dict of account ->
close date) instead of one aggregate REST query per page.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce

from connector.crm.port import CrmRecord, Cursor, FieldInfo, Page
from connector.crm.salesforce import bulk, soql
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.fields import WON_DEAL_FIELD, ObjectFields, scope
from connector.crm.salesforce.payload import csv_lines
from connector.crm.salesforce.records import position, to_record, value_at
from connector.errors import CrmContractError

__all__ = ["BulkPuller", "row_from_csv"]

log = logging.getLogger("lawful_crm.salesforce")
CHUNK = 20_000
"""Rows read per results request (`maxRecords`): about 10 MB of CSV held at a time."""
_NUMBERS = frozenset({"double", "currency", "percent"})
Attach = Callable[[ObjectFields, list[dict[str, Any]], list[CrmRecord], Sequence[str]], list[CrmRecord]]


def _cell(value: str, kind: str | None) -> Any:
    if value == "":
        return None
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "int":
        return int(value)
    if kind in _NUMBERS:
        return float(value)
    return value


def row_from_csv(cells: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    """A Bulk CSV row as the REST API's JSON row: typed values, `Parent.Field` columns nested."""
    row: dict[str, Any] = {}
    for name, text in cells.items():
        value = _cell(text, types.get(name.lower()))
        head, _, rest = name.partition(".")
        if rest:
            parent = row.setdefault(head, {})
            if isinstance(parent, dict):
                parent[rest] = value
        else:
            row[name] = value
    for name, value in list(row.items()):  # an empty lookup reads as null, as in REST
        if isinstance(value, dict) and all(item is None for item in value.values()):
            row[name] = None
    return row


class BulkPuller:
    """Runs the Bulk query jobs of full pulls through one Connection (see module docstring)."""

    def __init__(
        self,
        connection: Connection,
        meter: bulk.BulkMeter,
        *,
        page_size: int,
        poll_s: float,
        describe: Callable[[str], Mapping[str, FieldInfo]],
        attach: Attach | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.connection, self.meter, self.page_size, self.poll_s = connection, meter, page_size, poll_s
        self.describe, self.attach, self.chunk = describe, attach, chunk

    def chosen(self, fields: ObjectFields, horizon: tuple[datetime, str], *, threshold: int) -> bool:
        """Whether a full pull of the object goes through Bulk: more than `threshold` rows up to the horizon
        (one `SELECT COUNT()` query, deleted rows included). The choice is logged and kept for the summary."""
        where = (*scope(fields.object_type), soql.keyset_through(*horizon))
        statement = soql.select(("COUNT()",), fields.object_type, where=where)
        estimate = self.connection.call(f"count {fields.object_type}", partial(_count, statement=statement))
        bulk_on = estimate > threshold
        self.meter.pulls += bulk_on
        self.meter.note(
            f"{fields.object_type} full pull: {'Bulk API 2.0' if bulk_on else 'REST'} "
            f"(about {estimate} records, bulk_threshold {threshold})"
        )
        return bulk_on

    def pull(self, fields: ObjectFields, horizon: tuple[datetime, str]) -> Iterator[Page]:
        """Every row up to `horizon`, deleted ones included, as pages with their cursors."""
        types = {name.lower(): info.type for name, info in self.describe(fields.object_type).items()}
        types |= {"systemmodstamp": "datetime", "isdeleted": "boolean", "createddate": "datetime"}
        won = self._won_close_dates() if fields.won_deals else {}
        where = (*scope(fields.object_type), soql.keyset_through(*horizon))
        statement = soql.select(
            fields.select_list, fields.object_type, where=where, order_by=("SystemModstamp", "Id")
        )
        pages = rows_read = 0
        previous: tuple[datetime, str] | None = None
        batch: list[dict[str, Any]] = []
        for row in self._rows(statement, types, include_deleted=True):
            batch.append(row)
            if len(batch) == self.page_size:
                yield self._page(fields, batch, previous, won)
                previous, pages, rows_read = position(batch[-1]), pages + 1, rows_read + len(batch)
                batch = []
        if batch:
            yield self._page(fields, batch, previous, won)
            pages, rows_read = pages + 1, rows_read + len(batch)
        log.info("pulled %d %s rows in %d pages through Bulk API 2.0", rows_read, fields.object_type, pages)

    def _page(
        self,
        fields: ObjectFields,
        rows: list[dict[str, Any]],
        previous: tuple[datetime, str] | None,
        won: Mapping[str, str],
    ) -> Page:
        last = position(rows[-1])
        records = [
            to_record(fields.object_type, row, fields.read, extra=_won(fields, row, won)) for row in rows
        ]
        after = (soql.keyset_after(*previous),) if previous is not None else ()
        if self.attach is not None:  # the consent rows, selected by the page's keyset range
            records = self.attach(fields, rows, records, (*after, soql.keyset_through(*last)))
        return Page(tuple(records), Cursor(fields.object_type, *last))

    def _won_close_dates(self) -> dict[str, str]:
        """Account id -> latest close date of a won Opportunity, from one Bulk query."""
        statement = soql.select(("AccountId", "CloseDate"), "Opportunity", where=("IsWon = true",))
        dates: dict[str, str] = {}
        for row in self._rows(statement, {}, include_deleted=False):
            account, closed = row.get("AccountId"), row.get("CloseDate")
            if isinstance(account, str) and isinstance(closed, str) and closed > dates.get(account[:15], ""):
                dates[account[:15]] = closed
        return dates

    def _rows(
        self, statement: str, types: Mapping[str, str], *, include_deleted: bool
    ) -> Iterator[dict[str, Any]]:
        """The rows of one query job, a results chunk at a time."""
        count, call = self.meter.counted, self.connection.call
        create = partial(bulk.create_query, statement=statement, include_deleted=include_deleted)
        job_id = call("bulk query", count("job", create))
        info = bulk.wait(
            lambda: call(
                "bulk job state", count("poll", partial(bulk.job_info, kind="query", job_id=job_id))
            ),
            poll_s=self.poll_s,
        )
        if info.get("state") != "JobComplete":
            raise CrmContractError(
                f"a Bulk API 2.0 query job ended {info.get('state')}: {info.get('errorMessage')}"
            )
        locator: str | None = ""
        while locator is not None:
            read = partial(bulk.query_chunk, job_id=job_id, locator=locator, max_records=self.chunk)
            text, following = call("bulk results", count("other", read))
            for cells in csv.DictReader(csv_lines(text)):
                yield row_from_csv(cells, types)
            del text
            locator = following or None


def _count(client: Salesforce, *, statement: str) -> int:
    answer = client.query(statement, include_deleted=True)
    total = answer.get("totalSize") if isinstance(answer, Mapping) else None
    if not isinstance(total, int):
        raise CrmContractError("Salesforce answered a COUNT() query without totalSize")
    return total


def _won(fields: ObjectFields, row: Mapping[str, Any], won: Mapping[str, str]) -> dict[str, Any] | None:
    if not fields.won_deals:
        return None
    account = value_at(row, "AccountId")
    return {WON_DEAL_FIELD: won.get(account[:15]) if isinstance(account, str) else None}
