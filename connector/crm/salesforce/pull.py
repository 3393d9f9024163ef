"""Incremental reads: keyset pages in `ORDER BY SystemModstamp, Id`, deletions included, won deals added.

A pull first notes the newest row (one query, `ORDER BY SystemModstamp DESC, Id DESC LIMIT 1`) and reads up to
it: the org as it was when the pull began. Each page is then one SOQL statement (`queryAll`, so deleted rows
come back with IsDeleted = true) with `LIMIT page_size`, starting strictly after the last (SystemModstamp, Id)
of the page before. That position is the page's cursor: every row not yet read sorts after it, and a record
changed while the pull runs (by a user, or by the connector's own write-back) moves past the stopping row, so
the next pull reads it; resuming from any cursor loses nothing, and a pull ends however busy the org is.

The first statement of an incremental pull starts `overlap_s` before the cursor it is given, for changes
whose SystemModstamp was set before, but committed after, the previous run read past it; those rows are read
again (harmless: the sync writes only what changes), except the very row the cursor names.

Only one page is held at a time. For mapped objects that use `Last_Won_Close_Date` one aggregate query per
page adds the latest won Opportunity's close date of each record's account; when the mapping places data use
purposes, one more query per page adds the consent rows of each record's Individual (`consent.py`), and an
incremental pull first reads again the records whose Individual's consent rows changed since its cursor.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any

from connector.crm.port import CrmRecord, Cursor, Page
from connector.crm.salesforce import soql
from connector.crm.salesforce.bulk_pull import BulkPuller
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.consent import ConsentMark, ConsentReader
from connector.crm.salesforce.fields import WON_DEAL_FIELD, ObjectFields, object_fields, scope
from connector.crm.salesforce.query import all_rows
from connector.crm.salesforce.records import position, to_record, value_at
from connector.errors import ConfigurationError, ConnectorError, CrmContractError
from connector.mapping.schema import MappingFile

__all__ = ["Reader"]

log = logging.getLogger("lawful_crm.salesforce")
_READ_CHUNK = 200
_ID_PAGE = 2000
"""Ids listed per query when reconciling (a query page's maximum)."""


def _marked(cursor: Cursor, *, mark: ConsentMark) -> Cursor:
    """The cursor with the consent mark of the pull that made it."""
    return dataclasses.replace(cursor, consents_from=mark.newest, consents_seen=mark.seen)


class Reader:
    """Pulls and reads records of the mapped objects through one Connection."""

    def __init__(
        self,
        connection: Connection,
        mapping: MappingFile,
        *,
        page_size: int,
        overlap_s: int,
        unreadable: Callable[[str, Sequence[str]], list[str]],
        consents: ConsentReader | None = None,
    ) -> None:
        self.connection, self.mapping, self.unreadable = connection, mapping, unreadable
        self.consents = consents
        self.page_size, self.overlap = page_size, timedelta(seconds=overlap_s)
        self.bulk: BulkPuller | None = None
        """Set to pull objects above `bulk_threshold` records through Bulk API 2.0 when pulling them whole."""
        self.bulk_threshold = 0

    def _query(self, fields: ObjectFields, statement: str, *, include_deleted: bool) -> list[dict[str, Any]]:
        """One statement's rows; a field error names the mapped fields the integration user cannot read."""
        try:
            return self.connection.call(
                f"query {fields.object_type}",
                partial(all_rows, statement=statement, include_deleted=include_deleted),
            )
        except ConfigurationError as exc:
            hidden = self.unreadable(fields.object_type, fields.select_list)
            if not hidden:
                raise
            names = tuple(f"{fields.object_type}.{name}" for name in hidden)
            raise ConfigurationError(
                f"Salesforce cannot read {', '.join(names)} for the integration user: the field is missing "
                "or hidden by field-level security; run `lawful-crm install` or fix the mapping",
                problems=names,
            ) from exc

    def pull(self, object_type: str, since: Cursor | None) -> Iterator[Page]:
        """Pages of records changed after `since` (all when None), oldest first (see module docstring)."""
        fields = object_fields(self.mapping, object_type)
        horizon = self._horizon(fields)
        if horizon is None:
            return
        mark, changed = self._consent_mark(fields, since)
        marked = partial(_marked, mark=mark or ConsentMark(None, ()))
        if (
            since is None
            and self.bulk is not None
            and self.bulk.chosen(fields, horizon, threshold=self.bulk_threshold)
        ):
            for page in self.bulk.pull(fields, horizon):
                yield dataclasses.replace(page, cursor=page.cursor and marked(page.cursor))
            return
        if since is not None and changed:
            yield from self._read_people(fields, changed, marked(since))
        until = soql.keyset_through(*horizon)
        after = [f"SystemModstamp >= {soql.datetime_literal(since.modified - self.overlap)}"] if since else []
        after += self._not_our_echo(since)
        pages = rows_read = 0
        while True:
            statement = soql.select(
                fields.select_list, fields.object_type, where=(*scope(object_type), *after, until),
                order_by=("SystemModstamp", "Id"), limit=self.page_size,
            )  # fmt: skip
            rows = self._query(fields, statement, include_deleted=True)
            if not rows:
                break
            last = position(rows[-1])
            fresh = [row for row in rows if since is None or position(row) != (since.modified, since.last_id)]
            cursor = marked(Cursor(object_type, *last))
            pages, rows_read = pages + 1, rows_read + len(rows)
            if fresh or cursor != since:
                this_page = (*after, soql.keyset_through(*last))
                yield Page(tuple(self._records(fields, fresh, rows_where=this_page)), cursor)
            if len(rows) < self.page_size or last == horizon:
                break
            after = [soql.keyset_after(*last), *self._not_our_echo(since)]
        log.info("pulled %d %s rows in %d pages", rows_read, object_type, pages)

    def _consent_mark(
        self, fields: ObjectFields, since: Cursor | None
    ) -> tuple[ConsentMark | None, list[str]]:
        """Where the object's consent rows stand, and the Individuals whose rows changed since the cursor.

        A full pull only notes the mark before it reads (one query), so the next incremental pull reads what
        changes after it began; a cursor without a mark (older, or a Bulk pull's) counts from its own time."""
        if not fields.consents or self.consents is None:
            return None, []
        if since is None:
            return self.consents.mark(self.overlap), []
        previous = ConsentMark(since.consents_from or since.modified, since.consents_seen)
        changed, mark = self.consents.changes(previous, self.overlap)
        if changed:
            log.info(
                "%d Individuals' consent rows changed: reading their %s again",
                len(changed),
                fields.object_type,
            )
        return mark, changed

    def _read_people(self, fields: ObjectFields, parties: Sequence[str], cursor: Cursor) -> Iterator[Page]:
        """The records of `parties` (Individuals), by id lists of 200, with the cursor of the pull's start.

        These pages come before the keyset pages and keep the position they were given: a run stopped after
        them reads the same changes again, never fewer."""
        for start in range(0, len(parties), _READ_CHUNK):
            chosen = (f"IndividualId IN {soql.id_list(parties[start : start + _READ_CHUNK])}",)
            statement = soql.select(
                fields.select_list, fields.object_type, where=(*scope(fields.object_type), *chosen)
            )
            rows = self._query(fields, statement, include_deleted=False)
            if rows:
                yield Page(tuple(self._records(fields, rows, rows_where=chosen)), cursor)

    def live_ids(self, object_type: str) -> Iterator[list[str]]:
        """The ids of every live record in the object's scope (ids only, 2,000 a page as Salesforce pages
        one query): the cheap listing that reconciliation compares the store with."""
        fields = object_fields(self.mapping, object_type)
        statement = soql.select(["Id"], fields.object_type, where=scope(object_type))
        rows = self._query(fields, statement, include_deleted=False)
        for start in range(0, len(rows), _ID_PAGE):
            yield [str(row["Id"]) for row in rows[start : start + _ID_PAGE]]

    def _not_our_echo(self, since: Cursor | None) -> list[str]:
        """Leave out records whose last change was our own write-back (checked inside the write window)."""
        if since is None or since.own_writes_from is None or since.own_writes_until is None:
            return []
        checked = self.mapping.writeback.checked
        # SystemModstamp has whole seconds: in the window's last second only another user's edit is read again
        last_second = since.own_writes_until.replace(microsecond=0)
        start, end = soql.datetime_literal(since.own_writes_from), soql.datetime_literal(last_second)
        me = self._integration_user
        tail = (
            f"SystemModstamp = {end} AND LastModifiedById != {soql.string_literal(me)}"
            if me
            else f"SystemModstamp = {end}"
        )
        return [
            f"({checked} = null OR {checked} < {start} OR {checked} > {end} OR SystemModstamp > {end} OR ({tail}))"
        ]

    @cached_property
    def _integration_user(self) -> str | None:
        """The id of the user the connector writes as, read once; None when the org does not say."""
        try:
            user_id = self.connection.token_user_id()
        except ConnectorError:
            return None
        return user_id if user_id is not None and soql.is_record_id(user_id) else None

    def _horizon(self, fields: ObjectFields) -> tuple[datetime, str] | None:
        """(SystemModstamp, Id) of the newest row now, deleted ones included; None for an empty object."""
        statement = soql.select(
            ("Id", "SystemModstamp"), fields.object_type, where=scope(fields.object_type),
            order_by=("SystemModstamp DESC", "Id DESC"), limit=1,
        )  # fmt: skip
        rows = self._query(fields, statement, include_deleted=True)
        return position(rows[0]) if rows else None

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        """The current state of the given records, in the order asked; unknown, deleted or malformed ids left out."""
        fields = object_fields(self.mapping, object_type)
        wanted = list(dict.fromkeys(record_id for record_id in ids if soql.is_record_id(record_id)))
        found: dict[str, CrmRecord] = {}
        for start in range(0, len(wanted), _READ_CHUNK):
            chosen = (f"Id IN {soql.id_list(wanted[start : start + _READ_CHUNK])}",)
            statement = soql.select(
                fields.select_list, fields.object_type, where=(*scope(object_type), *chosen)
            )
            rows = self._query(fields, statement, include_deleted=False)
            found.update(
                (record.id[:15], record) for record in self._records(fields, rows, rows_where=chosen)
            )
        return [found[record_id[:15]] for record_id in wanted if record_id[:15] in found]

    def _records(
        self, fields: ObjectFields, rows: list[dict[str, Any]], *, rows_where: Sequence[str]
    ) -> list[CrmRecord]:
        """CrmRecords of the rows; `rows_where` selects them again for the won-deal and consent lookups."""
        records = self._plain_records(fields, rows, rows_where=rows_where)
        if not fields.consents or self.consents is None:
            return records
        return self.consents.attach(fields.object_type, rows, records, rows_where=rows_where)

    def _plain_records(
        self, fields: ObjectFields, rows: list[dict[str, Any]], *, rows_where: Sequence[str]
    ) -> list[CrmRecord]:
        if not fields.won_deals:
            return [to_record(fields.object_type, row, fields.read) for row in rows]
        accounts = [value_at(row, "AccountId") for row in rows]
        live = any(
            account and not value_at(row, "IsDeleted") for row, account in zip(rows, accounts, strict=True)
        )
        dates = self._won_close_dates(fields.object_type, rows_where) if live else {}
        return [
            to_record(fields.object_type, row, fields.read, extra={WON_DEAL_FIELD: dates.get(account)})
            for row, account in zip(rows, accounts, strict=True)
        ]

    def _won_close_dates(self, object_type: str, rows_where: Sequence[str]) -> Mapping[Any, str]:
        """Latest close date of a won Opportunity per account of the selected records: one aggregate query.

        The records are selected again inside a semi-join (by the page's keyset range, or by id), so a page of
        2,000 contacts costs one call however many accounts it spans.
        """
        accounts = soql.select(("AccountId",), object_type, where=(*scope(object_type), *rows_where))
        statement = soql.select(
            ("AccountId", "MAX(CloseDate) lastWon"), "Opportunity",
            where=("IsWon = true", f"AccountId IN ({accounts})"), group_by=("AccountId",),
        )  # fmt: skip
        rows = self.connection.call("query won Opportunities", partial(all_rows, statement=statement))
        dates: dict[Any, str] = {}
        for row in rows:
            account, closed = value_at(row, "AccountId"), value_at(row, "lastWon")
            if not (closed is None or isinstance(closed, str)):
                raise CrmContractError("Salesforce sent an aggregate row of an unexpected shape")
            if isinstance(account, str) and closed is not None:
                dates[account] = closed
        return dates
