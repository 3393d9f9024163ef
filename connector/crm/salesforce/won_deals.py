"""The latest won deal of each account, for a full pull through Bulk API 2.0: a compact lookup table.

A full pull of Contacts looks up each row's account here (`BulkPuller`), so the table lives for the whole pull.
A million-contact org has some 300,000 accounts with a won Opportunity: as a dict of id strings to date strings
they took about 160 bytes an account (48 MB). Here an account takes 27 bytes: the 64-bit hash of its 15-character
id in one sorted array, the id's 15 bytes in the same order (a lookup compares them, so two ids that share a hash
never mix up their dates) and the place of its close date among the distinct close dates (a few thousand).

The table is built from the won Opportunities a batch at a time: each batch is sorted and packed the same way,
and the batches are merged at the end, so no dict of every account is ever made. An account with several won
deals keeps the latest close date (the greatest `YYYY-MM-DD` text). Ids that are not 15 ASCII characters (not
Salesforce's) are kept in a small dict instead.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator

__all__ = ["WonDeals"]

ID_SIZE = 15
"""Accounts are looked up by the 15-character (case-sensitive) form of their id."""
BATCH = 10_000
"""Won deals sorted and packed at a time while the table is built."""

_Entry = tuple[int, bytes, str]
"""A won deal while the table is built: (hash of the account id, the id's bytes, close date)."""


class WonDeals:
    """Account id (15 characters) -> the latest close date of its won Opportunities, packed (module docstring).

    Built from (account id, close date) pairs, ids cut to 15 characters."""

    __slots__ = ("_dates", "_hashes", "_ids", "_odd", "_places", "_which")

    def __init__(self, deals: Iterable[tuple[str, str]] = (), *, batch: int = BATCH) -> None:
        self._hashes = array("q")
        self._ids = bytearray()
        self._which = array("I")
        """Each account's close date, as its place in `_dates`."""
        self._dates: list[str] = []
        self._places: dict[str, int] = {}
        """Each distinct close date's place in `_dates`."""
        self._odd: dict[str, str] = {}
        """Accounts whose id is not 15 ASCII characters."""
        self._merge(self._batches(deals, batch))

    def __len__(self) -> int:
        return len(self._hashes) + len(self._odd)

    def get(self, account: str) -> str | None:
        """The latest close date of a won deal of `account` (its 15-character id), None when it has none."""
        if not _packable(account):
            return self._odd.get(account)
        key, hashes, ids = account.encode("ascii"), self._hashes, self._ids
        wanted = hash(account)
        at = bisect_left(hashes, wanted)
        while at < len(hashes) and hashes[at] == wanted:
            if ids[at * ID_SIZE : (at + 1) * ID_SIZE] == key:
                return self._dates[self._which[at]]
            at += 1
        return None

    def _batches(self, deals: Iterable[tuple[str, str]], size: int) -> list[_Batch]:
        """The deals of packable ids, `size` at a time, each batch sorted and packed; the others go to `_odd`."""
        batches: list[_Batch] = []
        entries: list[_Entry] = []
        for account, closed in deals:
            key = account[:ID_SIZE]
            if not _packable(key):
                if closed > self._odd.get(key, ""):
                    self._odd[key] = closed
                continue
            entries.append((hash(key), key.encode("ascii"), self._dates[self._place(closed)]))
            if len(entries) >= size:
                batches.append(_Batch(entries, self._places))
                entries = []
        if entries:
            batches.append(_Batch(entries, self._places))
        return batches

    def _place(self, closed: str) -> int:
        """The place of a close date in `_dates`, added when new (each distinct date is held once)."""
        place = self._places.get(closed)
        if place is None:
            place = self._places[closed] = len(self._dates)
            self._dates.append(closed)
        return place

    def _merge(self, batches: list[_Batch]) -> None:
        """One entry per account from the sorted batches: the last of its run, which has the latest date."""
        previous: tuple[int, bytes] | None = None
        for wanted, key, closed in heapq.merge(*(batch.entries(self._dates) for batch in batches)):
            if previous == (wanted, key):
                self._which[-1] = self._places[closed]
                continue
            self._hashes.append(wanted)
            self._ids += key
            self._which.append(self._places[closed])
            previous = (wanted, key)


def _packable(account: str) -> bool:
    return len(account) == ID_SIZE and account.isascii()


class _Batch:
    """Won deals sorted by (hash, id, date) and packed as the table is, until they are merged into it."""

    __slots__ = ("hashes", "ids", "which")

    def __init__(self, entries: list[_Entry], places: dict[str, int]) -> None:
        entries.sort()
        self.hashes = array("q", (entry[0] for entry in entries))
        self.ids = b"".join(entry[1] for entry in entries)
        self.which = array("I", (places[entry[2]] for entry in entries))

    def entries(self, dates: list[str]) -> Iterator[_Entry]:
        ids = self.ids
        for at, (wanted, place) in enumerate(zip(self.hashes, self.which, strict=True)):
            yield wanted, ids[at * ID_SIZE : (at + 1) * ID_SIZE], dates[place]
