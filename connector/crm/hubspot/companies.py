"""Contacts' companies, read in full batches: one companies batch read per 100 distinct companies.

``CompanyDirectory`` holds company properties by id for one run (bounded, least recently used out) and reads
each id once, at most 100 per call. ``with_companies`` holds back pages of contacts until their companies are
known and asks for companies only when 100 new ids are waiting (or when ``max_buffered`` pages wait, or at the
end), so a pull costs about ``companies / 100`` company reads rather than one per contact page; at most
``max_buffered`` pages are held, which keeps memory flat. Page order is kept.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

from connector.crm.hubspot.records import Fetched, Props

__all__ = ["BATCH", "CompanyDirectory", "with_companies"]

BATCH = 100
T = TypeVar("T")
Fetch = Callable[[Sequence[str]], Mapping[str, Props]]
"""Reads at most 100 companies; returns the found ones by id."""


class CompanyDirectory:
    """Company properties by id, fetched at most ``BATCH`` ids per call; missing companies are remembered too."""

    def __init__(self, fetch: Fetch, *, capacity: int = 50_000) -> None:
        self._fetch = fetch
        self._known: OrderedDict[str, Props | None] = OrderedDict()
        self._capacity = capacity

    def known(self, company_id: str) -> bool:
        if company_id in self._known:
            self._known.move_to_end(company_id)
            return True
        return False

    def get(self, company_id: str | None) -> Props | None:
        return self._known.get(company_id) if company_id is not None else None

    def load(self, ids: Iterable[str]) -> None:
        """Fetch every id not known yet, ``BATCH`` per call."""
        wanted = [i for i in dict.fromkeys(ids) if not self.known(i)]
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            found = self._fetch(chunk)
            for company_id in chunk:
                self._known[company_id] = found.get(company_id)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)


def with_companies(
    pages: Iterable[Sequence[Fetched]],
    directory: CompanyDirectory,
    build: Callable[[Fetched, Props | None], T],
    *,
    max_buffered: int = 20,
) -> Iterator[list[T]]:
    """The pages with each contact built together with its company, in order, companies read in full batches."""
    waiting: deque[Sequence[Fetched]] = deque()
    pending: dict[str, None] = {}

    def resolved(page: Sequence[Fetched]) -> bool:
        return all(c.company_id is None or c.company_id not in pending for c in page)

    def flush() -> Iterator[list[T]]:
        while waiting and resolved(waiting[0]):
            page = waiting.popleft()
            yield [build(c, directory.get(c.company_id)) for c in page]

    def load(count: int) -> None:
        ids = list(pending)[:count]
        directory.load(ids)
        for company_id in ids:
            del pending[company_id]

    for page in pages:
        waiting.append(page)
        for contact in page:
            cid = contact.company_id
            if cid is not None and cid not in pending and not directory.known(cid):
                pending[cid] = None
        while len(pending) >= BATCH:
            load(BATCH)
        if len(waiting) > max_buffered:
            load(len(pending))
        yield from flush()
    load(len(pending))
    yield from flush()
