"""Reading contacts: the full pull and the incremental pull (both by search), deletions, batch reads.

The full pull reads by ``hs_object_id`` through search, 200 contacts per call where the contacts list gives
100; the primary company comes from the ``associatedcompanyid`` property. Search is eventually consistent: a
contact changed in the seconds before a full pull began may be missing from it, and the next incremental pull,
which starts the overlap before that moment, reads it. Until search sees a write it shows the contact as it
was, so every search page says it may lag by the overlap (``Page.lag``): the sync reads again by id (batch
read sees every write at once) the contacts it wrote within that time before it would write them again.

Cursor semantics (``Page.cursor``: where a later ``pull(since=…)`` may resume after a crash, missing nothing):

* Full pull: it reads in id order, not by time, so no position in it can be resumed from; its pages
  carry no cursor except the last, whose cursor is the moment the pull began. Changes made while it ran are
  read again by the next incremental pull; an interrupted full pull starts over.
* Incremental pull from ``since``: first the contacts archived after ``since.modified - overlap`` (deleted
  records; their pages carry ``since`` unchanged), then the changed contacts oldest first from that moment
  (``keyset``). A page's cursor is its last record's ``lastmodifieddate`` and id, but never later than the
  moment the deletion scan began: a deletion after that scan is found by the next run. Resuming reads from
  ``cursor.modified`` less the overlap again; ``last_id`` is informational (records sharing that time are
  re-read, which the sync's no-change rule makes free of writes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from connector.crm.hubspot.companies import BATCH, CompanyDirectory, with_companies
from connector.crm.hubspot.consents import StatusReader
from connector.crm.hubspot.keyset import (
    PAGE_LIMIT,
    OwnWrites,
    Position,
    Seen,
    id_search_body,
    search_body,
    step,
)
from connector.crm.hubspot.limiter import SYSTEM_CLOCK, Clock
from connector.crm.hubspot.records import (
    OBJECT_TYPE,
    Fetched,
    Props,
    epoch_ms,
    fetched,
    parse_time,
    record_of,
)
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.port import CrmRecord, Cursor, Page

__all__ = ["ContactReader"]

log = logging.getLogger("lawful_crm.hubspot")
LIST_PAGE = 100
"""The contacts list pages by 100 at most (used for archived contacts, which search never returns)."""


class ContactReader:
    """Pulls and reads contacts with their companies' properties through one session."""

    def __init__(
        self,
        session: HubSpotSession,
        *,
        properties: Sequence[str],
        company_properties: Sequence[str],
        overlap_s: int,
        checked_property: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        statuses: StatusReader | None = None,
    ) -> None:
        self.session = session
        self.statuses = statuses
        """Reads each page's subscription statuses (one call a page) when the mapping places types."""
        self.checked_property = checked_property
        self.properties = list(properties)
        self.company_properties = list(company_properties)
        self.overlap = timedelta(seconds=overlap_s)
        self.clock = clock

    # full pull ---------------------------------------------------------------------------------------------
    def full(self) -> Iterator[Page]:
        """Every live contact, 200 per page, each page with its contacts' companies."""
        started = self.clock.now()
        last: list[CrmRecord] | None = None
        count = 0
        for records in self._with_statuses(with_companies(self._listed(), self._directory(), self._build)):
            if last is not None:
                yield Page(records=tuple(last), cursor=None, lag=self.overlap)
            last, count = records, count + len(records)
        final = Cursor(OBJECT_TYPE, modified=started, last_id=last[-1].id if last else "")
        yield Page(records=tuple(last or ()), cursor=final, lag=self.overlap)
        log.info("hubspot full pull read %d contacts", count)

    def _listed(self) -> Iterator[list[Fetched]]:
        """Every live contact in id order, 200 per search (the list API pages by 100: twice the calls)."""
        for results in self._by_id(self.properties):
            yield [fetched(obj) for obj in results]

    def live_ids(self) -> Iterator[list[str]]:
        """The ids of every live contact, 200 per search in id order (ids only): the cheap listing that
        reconciliation compares the store with. Merged-away, GDPR-deleted and purged contacts are not in it."""
        for results in self._by_id(["hs_object_id"]):
            yield [str(obj["id"]) for obj in results]

    def _by_id(self, properties: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Every live contact's raw search result with ``properties``, page by page in id order."""
        after = 0
        while True:
            answer = self.session.call(
                "contacts.search",
                self.session.apis.contacts_search.do_search_with_http_info,
                search=True,
                raw=True,
                public_object_search_request=id_search_body(after, properties),
            )
            results = list(answer.get("results") or ())
            if results:
                yield results
            total = answer.get("total")
            if len(results) < PAGE_LIMIT or (isinstance(total, int) and total <= len(results)):
                return  # a last page that happens to be full costs no extra call
            after = max(int(obj["id"]) for obj in results)

    # incremental pull --------------------------------------------------------------------------------------
    def changed(self, since: Cursor) -> Iterator[Page]:
        """Deletions, then the contacts changed since ``since`` (less the overlap), oldest first."""
        start = since.modified - self.overlap
        ceiling = self.clock.now()
        yield from self._deleted(start, since)
        count = 0
        pages = with_companies(
            self._searched(epoch_ms(start), self._own_writes(since)), self._directory(), self._build
        )
        for records in self._with_statuses(pages):
            last = records[-1]
            cursor = Cursor(OBJECT_TYPE, modified=min(last.modified, ceiling), last_id=last.id)
            count += len(records)
            yield Page(records=tuple(records), cursor=cursor, lag=self.overlap)
        log.info("hubspot incremental pull read %d changed contacts", count)

    def _own_writes(self, since: Cursor) -> OwnWrites | None:
        """Our latest write window from the cursor, so that the search leaves out our own echo."""
        if self.checked_property is None or since.own_writes_from is None or since.own_writes_until is None:
            return None
        return OwnWrites(
            self.checked_property, epoch_ms(since.own_writes_from), epoch_ms(since.own_writes_until)
        )

    def _searched(self, start_ms: int, own_writes: OwnWrites | None) -> Iterator[list[Fetched]]:
        position: Position | None = Position(start_ms)
        while position is not None:
            answer = self.session.call(
                "contacts.search",
                self.session.apis.contacts_search.do_search_with_http_info,
                search=True,
                raw=True,
                public_object_search_request=search_body(position, self.properties, own_writes=own_writes),
            )
            contacts = [fetched(obj) for obj in answer.get("results") or ()]
            seen = [Seen(c.id, _modified_ms(c)) for c in contacts]
            fresh, position = step(position, seen)
            if fresh:
                yield [contacts[i] for i in fresh]

    def _deleted(self, start: datetime, since: Cursor) -> Iterator[Page]:
        """Contacts archived after ``start``, from the archived list (search never returns them)."""
        after: str | None = None
        count = 0
        while True:
            answer = self.session.call(
                "contacts.list_archived",
                self.session.apis.contacts.get_page_with_http_info,
                limit=LIST_PAGE,
                after=after,
                properties=["hs_object_id"],
                archived=True,
            )
            records = []
            for obj in answer.results or ():
                archived_at = parse_time(getattr(obj, "archived_at", None))
                if archived_at is not None and archived_at > start:
                    records.append(CrmRecord(OBJECT_TYPE, str(obj.id), {}, archived_at, deleted=True))
            if records:
                count += len(records)
                yield Page(records=tuple(records), cursor=since)
            after = _next_after(answer)
            if after is None:
                break
        log.info("hubspot incremental pull found %d deleted contacts", count)

    # batch read --------------------------------------------------------------------------------------------
    def read(self, ids: Sequence[str]) -> list[CrmRecord]:
        """The current state of ``ids`` (unknown or archived ones left out), in the order asked."""
        wanted = list(dict.fromkeys(ids))
        found: list[Fetched] = []
        for start in range(0, len(wanted), BATCH):
            answer = self.session.call(
                "contacts.batch_read",
                self.session.apis.contacts_batch.read_with_http_info,
                archived=False,
                batch_read_input_simple_public_object_id={
                    "inputs": [{"id": i} for i in wanted[start : start + BATCH]],
                    "properties": self.properties,
                },
            )
            found.extend(fetched(obj) for obj in answer.results or ())
        by_id = {contact.id: contact for contact in found}
        directory = self._directory()
        directory.load(c.company_id for c in found if c.company_id is not None)
        records = [self._build(by_id[i], directory.get(by_id[i].company_id)) for i in wanted if i in by_id]
        return self.statuses.attach(records) if self.statuses is not None else records

    def _with_statuses(self, pages: Iterator[list[CrmRecord]]) -> Iterator[list[CrmRecord]]:
        """Each page with its contacts' subscription statuses (when they are read)."""
        for records in pages:
            yield self.statuses.attach(records) if self.statuses is not None else records

    # companies ---------------------------------------------------------------------------------------------
    def _directory(self) -> CompanyDirectory:
        return CompanyDirectory(self._companies)

    def _companies(self, ids: Sequence[str]) -> dict[str, Props]:
        if not self.company_properties:
            return {}
        answer = self.session.call(
            "companies.batch_read",
            self.session.apis.companies_batch.read_with_http_info,
            archived=False,
            batch_read_input_simple_public_object_id={
                "inputs": [{"id": i} for i in ids],
                "properties": self.company_properties,
            },
        )
        return {str(obj.id): dict(obj.properties or {}) for obj in answer.results or ()}

    def _build(self, contact: Fetched, company: Props | None) -> CrmRecord:
        return record_of(contact, company, self.company_properties)


def _next_after(answer: Any) -> str | None:
    paging = getattr(answer, "paging", None)
    following = getattr(paging, "next", None)
    after = getattr(following, "after", None)
    return str(after) if after else None


def _modified_ms(contact: Fetched) -> int:
    moment = parse_time(contact.properties.get("lastmodifieddate"))
    return epoch_ms(moment) if moment is not None else 0
