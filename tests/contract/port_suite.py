"""What every CrmPort must do, whatever CRM is behind it: one set of behaviours, run against each port.

Each behaviour is a function taking a `PortFactory`; `test_crm_ports.py` runs every behaviour against the fake
CRM, the Salesforce adapter on the Salesforce sandbox and the HubSpot adapter on the HubSpot sandbox. A port
that fails one has a bug: the fix goes into the adapter (or the fake), never into the behaviour or the sandbox.

The factory yields a `PortUnderTest`: the port and the few things only the CRM itself can do to its records
(a user's edit, a deletion, a value the CRM refuses), with the CRM's record ids and its write batch limit.
A factory's CRM holds `RECORDS` live records of one object type, pulled in pages of `PAGE_SIZE`, with the
connector's own fields installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from connector.crm.port import CrmPort, CrmRecord, Cursor, FieldUpdate, Page
from connector.mapping.schema import WriteBack
from connector.mapping.writeback import checked_value, same_value
from connector.models import CrmName

__all__ = ["BEHAVIOURS", "PAGE_SIZE", "RECORDS", "PortFactory", "PortUnderTest"]

RECORDS = 600
PAGE_SIZE = 200
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Before every record of every port: a cursor here reads everything, page by page, incrementally."""


@dataclass(frozen=True)
class PortUnderTest:
    """A port and its CRM, seen from outside the port."""

    port: CrmPort
    crm: CrmName
    """The mapping's CRM, which fixes how the connector's own values are written."""
    object_type: str
    writeback: WriteBack
    """The names of the connector's own fields on this CRM."""
    batch_limit: int
    """The most updates the CRM takes in one write call."""
    live_ids: Callable[[], set[str]]
    """The ids of the object type's live records, as the CRM itself holds them."""
    edit: Callable[[str], None]
    """A user's edit of one record (not the connector's write)."""
    delete: Callable[[str], None]
    """A user's deletion of one record."""
    refused: Callable[[str], FieldUpdate]
    """An update of the record's own fields that the CRM refuses for its value (the record is not gone)."""
    refused_write_calls: Callable[[], int]
    """How many write calls the CRM has refused as a whole so far (a batch over its limit, for one)."""
    now: Callable[[], datetime]
    """The CRM's clock."""

    def origin(self) -> Cursor:
        return Cursor(self.object_type, ORIGIN, "")

    def update(self, record_id: str, **values: object) -> FieldUpdate:
        """An update of the connector's review flag (true unless told), plus any other own field named."""
        return FieldUpdate(self.object_type, record_id, {self.writeback.review: True, **values})

    def reviewed(self, record: CrmRecord) -> bool:
        return same_value(record.fields.get(self.writeback.review), True)


PortFactory = Callable[[], AbstractContextManager[PortUnderTest]]


def _ids(pages: list[Page]) -> list[str]:
    return [record.id for page in pages for record in page.records if not record.deleted]


def _first_pages(pages: Iterator[Page], count: int) -> list[Page]:
    """The first ``count`` pages of a pull, which then stops as a crashed run would."""
    taken = [page for _, page in zip(range(count), pages, strict=False)]
    close = getattr(pages, "close", None)
    if close is not None:
        close()
    return taken


def resuming_from_any_page_cursor_loses_nothing(make: PortFactory) -> None:
    """A pull stopped after any page and resumed from that page's cursor reads every record, and a record a
    user edited meanwhile comes back, whichever page had read it before."""
    for stop_after in (1, 2, math.ceil(RECORDS / PAGE_SIZE)):
        with make() as crm:
            first = _first_pages(crm.port.pull(crm.object_type, since=crm.origin()), stop_after)
            assert len(first) == stop_after
            assert all(page.cursor is not None for page in first if page.records), "a page without a cursor"
            checkpoint = next(page.cursor for page in reversed(first) if page.cursor is not None)
            edited = first[0].records[0].id
            crm.edit(edited)
            resumed = list(crm.port.pull(crm.object_type, since=checkpoint))
            assert set(_ids(first)) | set(_ids(resumed)) == crm.live_ids(), f"lost after page {stop_after}"
            assert edited in _ids(resumed), f"the edit after page {stop_after} was lost"


def deletions_surface_on_the_next_pull(make: PortFactory) -> None:
    """Records deleted after a cursor are pulled from it as deletions, without their values."""
    with make() as crm:
        pages = list(crm.port.pull(crm.object_type, since=crm.origin()))
        cursor = pages[-1].cursor
        assert cursor is not None
        victims = sorted(_ids(pages)[10:12])
        for victim in victims:
            crm.delete(victim)
        after = [record for page in crm.port.pull(crm.object_type, since=cursor) for record in page.records]
        deleted = sorted(record.id for record in after if record.deleted)
        assert deleted == victims
        assert all(not record.fields for record in after if record.deleted)
        assert not set(victims) & crm.live_ids()


def a_partial_write_reports_every_record(make: PortFactory) -> None:
    """A write in which the CRM refuses some records writes the others, and reports each in the order given:
    written, refused for its value, or gone."""
    with make() as crm:
        ids = sorted(crm.live_ids())[:12]
        gone, refused = ids[4], ids[7]
        crm.delete(gone)
        updates = [
            crm.refused(record_id) if record_id == refused else crm.update(record_id) for record_id in ids
        ]
        outcomes = crm.port.write(updates)
        assert [outcome.record_id for outcome in outcomes] == ids
        by_id = {outcome.record_id: outcome for outcome in outcomes}
        assert by_id[gone].gone and not by_id[gone].ok and by_id[gone].code
        assert not by_id[refused].ok and not by_id[refused].gone and by_id[refused].code
        written = [record_id for record_id in ids if record_id not in (gone, refused)]
        assert all(by_id[record_id].ok for record_id in written)
        read = {record.id: record for record in crm.port.read(crm.object_type, ids)}
        assert all(crm.reviewed(read[record_id]) for record_id in written)
        assert not crm.reviewed(read[refused])


def the_connectors_own_write_is_not_pulled_again(make: PortFactory) -> None:
    """After a write-back, a pull from a cursor that carries its write window (as the sync saves it) leaves
    out the records whose last change was that write, and reads those a user changed after it."""
    with make() as crm:
        pages = list(crm.port.pull(crm.object_type, since=crm.origin()))
        cursor = pages[-1].cursor
        assert cursor is not None
        echoed, edited = _ids(pages)[20:23], _ids(pages)[30]
        started = crm.now()
        checked = {crm.writeback.checked: checked_value(crm.now(), crm.crm)}
        outcomes = crm.port.write([crm.update(record_id, **checked) for record_id in [*echoed, edited]])
        assert all(outcome.ok for outcome in outcomes)
        returned = crm.now()
        while crm.now() < returned + timedelta(milliseconds=1):
            pass  # the window closes after the write's last millisecond, as a sync's does (it ends later)
        wrote_until = crm.now()
        while crm.now() <= wrote_until:
            pass  # a user's edit comes after the write window, however coarse the CRM's clock
        crm.edit(edited)
        window = replace(cursor, own_writes_from=started.replace(microsecond=0), own_writes_until=wrote_until)
        pulled = _ids(list(crm.port.pull(crm.object_type, since=window)))
        assert not set(echoed) & set(pulled), "the connector's own write was pulled again"
        assert edited in pulled, "a user's edit after the write-back was left out"


def writes_never_exceed_the_batch_limit(make: PortFactory) -> None:
    """More updates than two batches hold are all written, in calls the CRM accepts: none over its limit."""
    with make() as crm:
        ids = sorted(crm.live_ids())[: 2 * crm.batch_limit + 1]
        assert len(ids) == 2 * crm.batch_limit + 1
        outcomes = crm.port.write([crm.update(record_id) for record_id in ids])
        assert [outcome.record_id for outcome in outcomes] == ids
        assert all(outcome.ok for outcome in outcomes)
        assert crm.refused_write_calls() == 0


def the_id_listing_names_every_live_record_once(make: PortFactory) -> None:
    """``live_ids`` lists each live record's id exactly once, page by page with no empty page, and leaves out
    deleted records: reconciliation forgets what the store manages and the listing does not name."""
    with make() as crm:
        victims = sorted(crm.live_ids())[40:43]
        for victim in victims:
            crm.delete(victim)
        pages = list(crm.port.live_ids(crm.object_type))
        listed = [record_id for page in pages for record_id in page]
        assert all(pages), "an empty page"
        assert len(listed) == len(set(listed)), "an id listed twice"
        assert set(listed) == crm.live_ids() and len(listed) == RECORDS - len(victims)
        assert not set(victims) & set(listed), "a deleted record listed as live"


BEHAVIOURS: tuple[Callable[[PortFactory], None], ...] = (
    resuming_from_any_page_cursor_loses_nothing,
    deletions_surface_on_the_next_pull,
    a_partial_write_reports_every_record,
    the_connectors_own_write_is_not_pulled_again,
    writes_never_exceed_the_batch_limit,
    the_id_listing_names_every_live_record_once,
)
