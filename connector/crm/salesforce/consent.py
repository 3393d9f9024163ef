"""The consent data model of a page of records: ContactPointTypeConsent rows of their Individuals, by one query.

Orgs with Data Protection and Privacy keep consent as `ContactPointTypeConsent` rows of an `Individual` (the
person a Contact or Lead points to with `IndividualId`): a channel (`ContactPointType`), a status (OptIn,
OptOut, Seen, NotSeen), a purpose (`DataUsePurpose`), when it was captured and when it is in effect. When the
mapping places purposes (``data_use_purposes``), every page of records costs one more query: the rows whose
`PartyId` is the Individual of a record of the page, the records selected again inside a semi-join (by the
page's keyset range or by id), as the won-deal lookup does, so the statement stays short for 2,000 records.
A consent row that changes moves no Contact or Lead: an incremental pull also asks which Individuals' rows
changed since its cursor (`changes`, from the mark a full pull leaves in the cursor) and reads their records again.

Each row is placed against the clock (in effect, ahead of `EffectiveFrom`, ended at `EffectiveTo`) and handed
over as a `ConsentRecord` under ``RECORDS_FIELD``; the mapping turns them into consents and opt-outs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connector.crm.port import CrmRecord
from connector.crm.salesforce import soql
from connector.crm.salesforce.connection import Connection
from connector.crm.salesforce.fields import scope
from connector.crm.salesforce.query import all_rows
from connector.crm.salesforce.records import parse_datetime, value_at
from connector.crm.salesforce.translate import error_code
from connector.errors import ConfigurationError, CrmContractError
from connector.mapping.consent_records import CONSENT_OBJECT, RECORDS_FIELD, ConsentRecord, State

__all__ = [
    "CONSENT_FIELDS",
    "INDIVIDUAL_FIELD",
    "ConsentMark",
    "ConsentReader",
    "consent_record",
    "consent_statement",
    "people_statement",
]

INDIVIDUAL_FIELD = "IndividualId"
CONSENT_FIELDS = (
    "Id", "PartyId", "ContactPointType", "PrivacyConsentStatus", "DataUsePurpose.Name", "CaptureDate",
    "EffectiveFrom", "EffectiveTo",
)  # fmt: skip
"""What a consent row is read for; `DataUsePurpose.Name` is the name the mapping places."""


_MARK_ROWS = 200
"""Rows a full pull's mark looks at: the newest changes, enough to cover its overlap in any real org."""


@dataclass(frozen=True, slots=True)
class ConsentMark:
    """The newest consent row change seen, and the rows changed within the overlap before it (see `Cursor`)."""

    newest: datetime | None
    seen: tuple[str, ...]


def _within(rows: Sequence[tuple[str, str | None, datetime]], start: datetime) -> tuple[str, ...]:
    return tuple(sorted({row_id for row_id, _, stamp in rows if stamp >= start}))


def consent_statement(object_type: str, rows_where: Sequence[str]) -> str:
    """The one query of a page: the consent rows of the Individuals of the records `rows_where` selects."""
    parties = soql.select((INDIVIDUAL_FIELD,), object_type, where=(*scope(object_type), *rows_where))
    return soql.select(CONSENT_FIELDS, CONSENT_OBJECT, where=(f"PartyId IN ({parties})",))


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CrmContractError("Salesforce sent a consent date of an unexpected shape")
    return parse_datetime(value)


def consent_record(row: Mapping[str, Any], *, now: datetime) -> ConsentRecord:
    """One ContactPointTypeConsent row as the mapping reads it, placed against `now`. Pure."""
    captured, start, end = (
        _moment(value_at(row, name)) for name in ("CaptureDate", "EffectiveFrom", "EffectiveTo")
    )
    state: State = "in_effect"
    if end is not None and end <= now:
        state = "ended"
    elif start is not None and start > now:
        state = "ahead"
    purpose = value_at(row, "DataUsePurpose.Name")
    return ConsentRecord(
        channel=str(value_at(row, "ContactPointType") or "").lower(),
        status=str(value_at(row, "PrivacyConsentStatus") or ""),
        purpose=str(purpose) if purpose else None,
        captured=captured.date() if captured else None,
        effective_from=start.date() if start else None,
        effective_to=end.date() if end else None,
        state=state,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConsentReader:
    """Adds the consent rows of each record's Individual to a page of records (one query a page)."""

    def __init__(
        self,
        connection: Connection,
        *,
        unreadable: Callable[[str, Sequence[str]], list[str]] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.connection, self.unreadable, self.clock = connection, unreadable, clock

    def attach(
        self, object_type: str, rows: Sequence[Mapping[str, Any]], records: Sequence[CrmRecord],
        *, rows_where: Sequence[str],
    ) -> list[CrmRecord]:  # fmt: skip
        """The records, each with its Individual's consent rows (an empty tuple when it has none)."""
        parties = [_party(row) for row in rows]
        live = any(party and not record.deleted for party, record in zip(parties, records, strict=True))
        found = self._rows(object_type, rows_where) if live else {}
        return [
            record if record.deleted else _with_consents(record, found.get(party or "", ()))
            for party, record in zip(parties, records, strict=True)
        ]

    def people(self, object_types: Sequence[str], party_ids: Sequence[str]) -> dict[str, list[str]]:
        """The ids of the records of each object type whose Individual is one of `party_ids` (one query per
        type): whom a change to a consent record of those Individuals concerns."""
        wanted = list(dict.fromkeys(party for party in party_ids if soql.is_record_id(party)))
        if not wanted:
            return {}
        found: dict[str, list[str]] = {}
        for object_type in object_types:
            statement = people_statement(object_type, wanted)
            rows = self.connection.call(
                f"query {object_type} of Individuals", partial(_all_rows, statement=statement)
            )
            found[object_type] = [str(value_at(row, "Id")) for row in rows]
        return found

    def mark(self, overlap: timedelta) -> ConsentMark:
        """Where consent changes stand now (one query, deleted rows included): what a full pull leaves in its
        cursor, so that the next incremental pull reads only what changes after it began."""
        statement = soql.select(
            ("Id", "SystemModstamp"),
            CONSENT_OBJECT,
            order_by=("SystemModstamp DESC", "Id DESC"),
            limit=_MARK_ROWS,
        )
        rows = self._changed(statement)
        if not rows:
            return ConsentMark(None, ())
        newest = max(stamp for _, _, stamp in rows)
        return ConsentMark(newest, _within(rows, newest - overlap))

    def changes(self, since: ConsentMark, overlap: timedelta) -> tuple[list[str], ConsentMark]:
        """The Individuals whose consent rows were created, changed or deleted after ``since`` (one query,
        deleted rows included), and the new mark. A consent row that changes moves no Contact or Lead, so an
        incremental pull reads their records by Individual. Rows of the overlap before the mark are read again
        and count only when they were not seen last time (committed late)."""
        assert since.newest is not None
        start = soql.datetime_literal(since.newest - overlap)
        statement = soql.select(
            ("Id", "PartyId", "SystemModstamp"), CONSENT_OBJECT, where=(f"SystemModstamp >= {start}",)
        )
        rows = self._changed(statement)
        seen = set(since.seen)
        parties = [
            party for row_id, party, stamp in rows if party and (stamp > since.newest or row_id not in seen)
        ]
        newest = max([since.newest, *(stamp for _, _, stamp in rows)])
        return list(dict.fromkeys(parties)), ConsentMark(newest, _within(rows, newest - overlap))

    def _changed(self, statement: str) -> list[tuple[str, str | None, datetime]]:
        """(row id, Individual id, SystemModstamp) of each row the statement selects, deleted ones included."""
        rows = self.connection.call(
            f"query changed {CONSENT_OBJECT}", partial(_all_rows, statement=statement, include_deleted=True)
        )
        found: list[tuple[str, str | None, datetime]] = []
        for row in rows:
            row_id, stamp = value_at(row, "Id"), _moment(value_at(row, "SystemModstamp"))
            if not isinstance(row_id, str) or stamp is None:
                raise CrmContractError("Salesforce sent a consent row without its Id or SystemModstamp")
            found.append((row_id[:15], _party(row, field="PartyId"), stamp))
        return found

    def _rows(self, object_type: str, rows_where: Sequence[str]) -> dict[str, tuple[ConsentRecord, ...]]:
        statement = consent_statement(object_type, rows_where)
        try:
            rows = self.connection.call(f"query {CONSENT_OBJECT}", partial(_all_rows, statement=statement))
        except ConfigurationError as exc:
            hidden = self.unreadable(CONSENT_OBJECT, CONSENT_FIELDS) if self.unreadable else []
            names = tuple(f"{CONSENT_OBJECT}.{name}" for name in hidden) or (CONSENT_OBJECT,)
            raise ConfigurationError(
                f"Salesforce cannot read {', '.join(names)} for the integration user (Data Protection and "
                "Privacy): grant it read access, or empty the mapping's data_use_purposes",
                problems=names,
            ) from exc
        now = self.clock()
        by_party: dict[str, list[ConsentRecord]] = {}
        for row in rows:
            party = _party(row, field="PartyId")
            if party:
                by_party.setdefault(party, []).append(consent_record(row, now=now))
        return {party: tuple(found) for party, found in by_party.items()}


def _with_consents(record: CrmRecord, consents: tuple[ConsentRecord, ...]) -> CrmRecord:
    fields = {**record.fields, RECORDS_FIELD: consents}
    return CrmRecord(record.object_type, record.id, fields, record.modified, created=record.created)


def _party(row: Mapping[str, Any], *, field: str = INDIVIDUAL_FIELD) -> str | None:
    """The 15-character Individual id a row names, or None."""
    value = value_at(row, field)
    return value[:15] if isinstance(value, str) and value else None


def _all_rows(client: Salesforce, *, statement: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Every row of the statement; an org without the consent data model is a configuration error."""
    try:
        return all_rows(client, statement=statement, include_deleted=include_deleted)
    except SalesforceError as exc:
        if error_code(exc) != "INVALID_TYPE":
            raise
        raise ConfigurationError(
            f"the org has no {CONSENT_OBJECT} (Data Protection and Privacy is off, or the integration user "
            "cannot see it): turn it on, or empty the mapping's data_use_purposes",
            problems=(CONSENT_OBJECT,),
        ) from None


def people_statement(object_type: str, party_ids: Sequence[str]) -> str:
    """The records of `object_type` (in the object's scope) whose Individual is one of `party_ids` (checked)."""
    where = (*scope(object_type), f"{INDIVIDUAL_FIELD} IN {soql.id_list(party_ids)}")
    return soql.select(("Id",), object_type, where=where)
