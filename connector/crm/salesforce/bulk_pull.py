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
Opportunity per account comes from a second Bulk query (won Opportunities, read once into a packed table of
account -> close date, `won_deals.py`) instead of one aggregate REST query per page, and, when the mapping reads
consent records, the ContactPointTypeConsent rows of a results chunk's Individuals from one Bulk query per chunk
(selected by the chunk's keyset range, `consent.consent_statement`) instead of one REST query per page.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce

from connector.crm.port import CrmRecord, Cursor, FieldInfo, Page
from connector.crm.salesforce import bulk, soql
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.consent import INDIVIDUAL_FIELD, consent_record, consent_statement
from connector.crm.salesforce.fields import WON_DEAL_FIELD, ObjectFields, scope
from connector.crm.salesforce.payload import csv_lines
from connector.crm.salesforce.records import parse_datetime, value_at
from connector.crm.salesforce.won_deals import WonDeals
from connector.errors import CrmContractError
from connector.mapping.consent_records import RECORDS_FIELD, ConsentRecord

__all__ = ["BulkPuller", "CsvHeader", "row_from_csv"]

log = logging.getLogger("lawful_crm.salesforce")
CHUNK = 10_000
"""Rows read per results request (`maxRecords`): about 5 MB of CSV held at a time."""
_NUMBERS = frozenset({"double", "currency", "percent"})
_TYPED = _NUMBERS | {"boolean", "int"}


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
    return CsvHeader(list(cells), types).row(list(cells.values()))


class CsvHeader:
    """One results chunk's header, read once: each column's place and type. A row's REST values and its
    CrmRecord are then taken from its cells directly, as `row_from_csv` and `to_record` would give them."""

    def __init__(self, header: Sequence[str], types: Mapping[str, str]) -> None:
        self.columns = [
            (name, *name.partition(".")[::2], types.get(name.lower())) for name in header
        ]  # (name, head, rest, type)
        self.places = {name.lower(): (index, types.get(name.lower())) for index, name in enumerate(header)}
        self._plans: dict[tuple[str, ...], list[tuple[str, int, str | None]]] = {}

    def row(self, cells: Sequence[str]) -> dict[str, Any]:
        """The REST row of one CSV row (`row_from_csv`)."""
        row: dict[str, Any] = {}
        nested = False
        for (name, head, rest, kind), text in zip(self.columns, cells, strict=True):
            value = _cell(text, kind)
            if rest:
                nested = True
                parent = row.setdefault(head, {})
                if isinstance(parent, dict):
                    parent[rest] = value
            else:
                row[name] = value
        if nested:
            for name, value in list(row.items()):  # an empty lookup reads as null, as in REST
                if isinstance(value, dict) and all(item is None for item in value.values()):
                    row[name] = None
        return row

    def value(self, cells: Sequence[str], name: str) -> Any:
        """The typed value of the column `name` (any case), None when the header lacks it."""
        place = self.places.get(name.lower())
        return None if place is None else _cell(cells[place[0]], place[1])

    def position(self, cells: Sequence[str]) -> tuple[datetime, str]:
        """(SystemModstamp, Id) of a row (`records.position`)."""
        stamp, record_id = self.value(cells, "SystemModstamp"), self.value(cells, "Id")
        if not isinstance(stamp, str) or not isinstance(record_id, str):
            raise CrmContractError("Salesforce sent a row without Id or SystemModstamp")
        return parse_datetime(stamp), record_id

    def record(
        self, object_type: str, cells: Sequence[str], names: tuple[str, ...], extra: Mapping[str, Any]
    ) -> CrmRecord:
        """The row as a CrmRecord holding the fields `names` and `extra` (`records.to_record`)."""
        modified, record_id = self.position(cells)
        stamp = self.value(cells, "CreatedDate")
        created = parse_datetime(stamp) if isinstance(stamp, str) else None
        if self.value(cells, "IsDeleted") is True:
            return CrmRecord(object_type, record_id, {}, modified, deleted=True, created=created)
        values: dict[str, Any] = {}
        for name, index, kind in self._plan(names):
            text = cells[index] if index >= 0 else ""
            values[name] = _cell(text, kind) if kind in _TYPED else text or None
        values.update(extra)
        return CrmRecord(object_type, record_id, values, modified, created=created)

    def _plan(self, names: tuple[str, ...]) -> list[tuple[str, int, str | None]]:
        """Each wanted field's column (-1: absent, read as null) and type."""
        plan = self._plans.get(names)
        if plan is None:
            places = [self.places.get(name.lower(), (-1, None)) for name in names]
            plan = self._plans[names] = [(name, *place) for name, place in zip(names, places, strict=True)]
        return plan


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
        chunk: int = CHUNK,
    ) -> None:
        self.connection, self.meter, self.page_size, self.poll_s = connection, meter, page_size, poll_s
        self.describe, self.chunk = describe, chunk

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
        won = self._won_close_dates() if fields.won_deals else WonDeals()
        where = (*scope(fields.object_type), soql.keyset_through(*horizon))
        statement = soql.select(
            fields.select_list, fields.object_type, where=where, order_by=("SystemModstamp", "Id")
        )
        pages = rows_read = 0
        previous: tuple[datetime, str] | None = None
        for names, chunk in self._chunks(statement, include_deleted=True):
            header = CsvHeader(names, types)
            last = header.position(chunk[-1])
            after = (soql.keyset_after(*previous),) if previous is not None else ()
            where = (*after, soql.keyset_through(*last))
            consents = self._consents(fields.object_type, where) if fields.consents else None
            for start in range(0, len(chunk), self.page_size):
                yield self._page(fields, header, chunk[start : start + self.page_size], won, consents)
                pages += 1
            previous, rows_read = last, rows_read + len(chunk)
            del chunk, consents  # not held while the next chunk is read
        log.info("pulled %d %s rows in %d pages through Bulk API 2.0", rows_read, fields.object_type, pages)

    def _page(
        self,
        fields: ObjectFields,
        header: CsvHeader,
        rows: Sequence[Sequence[str]],
        won: WonDeals,
        consents: Mapping[str, tuple[ConsentRecord, ...]] | None,
    ) -> Page:
        records = []
        for cells in rows:
            extra: dict[str, Any] = {}
            if fields.won_deals:
                account = header.value(cells, "AccountId")
                extra[WON_DEAL_FIELD] = won.get(account[:15]) if isinstance(account, str) else None
            if consents is not None:
                party = header.value(cells, INDIVIDUAL_FIELD)
                extra[RECORDS_FIELD] = (
                    consents.get(party[:15], ()) if isinstance(party, str) and party else ()
                )
            record = header.record(fields.object_type, cells, fields.read, extra)
            records.append(record)
        return Page(tuple(records), Cursor(fields.object_type, *header.position(rows[-1])))

    def _consents(self, object_type: str, rows_where: Sequence[str]) -> dict[str, tuple[ConsentRecord, ...]]:
        """Individual id -> its consent rows, for the records `rows_where` selects: one Bulk query per results
        chunk (the REST pull reads them with one query per page)."""
        now = datetime.now(UTC)
        found: dict[str, list[ConsentRecord]] = {}
        for row in self._rows(consent_statement(object_type, rows_where), {}, include_deleted=False):
            party = value_at(row, "PartyId")
            if isinstance(party, str) and party:
                found.setdefault(party[:15], []).append(consent_record(row, now=now))
        return {party: tuple(rows) for party, rows in found.items()}

    def _won_close_dates(self) -> WonDeals:
        """Account id -> latest close date of a won Opportunity, from one Bulk query."""
        return WonDeals(self._won_deals())

    def _won_deals(self) -> Iterator[tuple[str, str]]:
        """(account id, close date) of each won Opportunity with both."""
        statement = soql.select(("AccountId", "CloseDate"), "Opportunity", where=("IsWon = true",))
        for row in self._rows(statement, {}, include_deleted=False):
            account, closed = row.get("AccountId"), row.get("CloseDate")
            if isinstance(account, str) and isinstance(closed, str) and closed:
                yield account, closed

    def _rows(
        self, statement: str, types: Mapping[str, str], *, include_deleted: bool
    ) -> Iterator[dict[str, Any]]:
        """The rows of one query job."""
        for names, chunk in self._chunks(statement, include_deleted=include_deleted):
            header = CsvHeader(names, types)
            for cells in chunk:
                yield header.row(cells)

    def _chunks(
        self, statement: str, *, include_deleted: bool
    ) -> Iterator[tuple[list[str], list[list[str]]]]:
        """The rows of one query job, a results chunk at a time, as (header, each row's cells): a chunk's rows
        are held as their CSV cells and made REST rows a page at a time (empty chunks left out)."""
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
            cells = csv.reader(csv_lines(text))
            header = next(cells, [])
            chunk = list(cells)
            del text, cells
            if chunk:
                yield header, chunk
            del chunk  # nor here: the next chunk's text and cells come without the last one's
            locator = following or None


def _count(client: Salesforce, *, statement: str) -> int:
    answer = client.query(statement, include_deleted=True)
    total = answer.get("totalSize") if isinstance(answer, Mapping) else None
    if not isinstance(total, int):
        raise CrmContractError("Salesforce answered a COUNT() query without totalSize")
    return total
