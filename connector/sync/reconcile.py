"""Reconciliation: the records the store keeps decisions for that the CRM no longer has are forgotten.

A pull finds deletions only while the CRM still shows them (Salesforce's recycle bin for about 15 days,
HubSpot's archived list for 90; a HubSpot GDPR delete or merge never shows at all). Deletions that happened
while lawful-crm was not running, or were purged before it looked, would leave that person's audit behind.
So, periodically, the ids the store manages are compared with the CRM's live ids (ids only, paged); the ones
the CRM does not list are read once by id to confirm (a listing can lag: HubSpot search indexes new records
a few seconds late), and those still missing are forgotten. A merged-away HubSpot contact reads back as its
winner under the winner's id, so it is forgotten too; the winner changed, and the next pull decides it anew.

A full pull lists every live record anyway, so after one the comparison costs no listing calls.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta

from connector.crm.port import Cursor, IdLister  # IdLister: named here too for the sharded sync

__all__ = ["MARKER_SUFFIX", "RECONCILE_EVERY", "IdLister", "SeenIds", "due", "gone", "marker", "missing"]

RECONCILE_EVERY = timedelta(days=1)
"""How often an incremental run lists the CRM's ids to compare them with the store."""
MARKER_SUFFIX = "#reconciled"
"""The cursor row (per object type) whose ``modified`` says when the store was last reconciled."""
CONFIRM_CHUNK = 200


def marker(object_type: str, now: datetime) -> Cursor:
    """The cursor row recording that ``object_type`` was reconciled at ``now``."""
    return Cursor(f"{object_type}{MARKER_SUFFIX}", modified=now, last_id="")


def due(last: Cursor | None, now: datetime, *, every: timedelta = RECONCILE_EVERY) -> bool:
    """Whether an incremental run should reconcile: the last reconciliation is ``every`` old. Never before
    the first one is recorded (a first run has nothing to compare; it records the marker)."""
    return last is not None and now - last.modified >= every


class SeenIds:
    """The ids a pull or a listing saw, as 64-bit hashes in sorted arrays: 8 bytes an id where a set of strings
    takes about 90, so a million-record org costs 10 MB, not 120 (a full pull keeps every id it read until the
    end).

    Each ``update`` (a page) is kept as its own sorted array; the first question merges them into one without
    building a list of the million hashes. Two ids with one hash can only make a deleted record look live,
    which keeps it until a later reconciliation (string hashes change with each process); never the other way
    round, and a record is forgotten only after a read by id confirms it is gone."""

    __slots__ = ("_merged", "_pages")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._merged = array("q")
        self._pages: list[array[int]] = []
        self.update(ids)

    def update(self, ids: Iterable[str]) -> None:
        page = array("q", sorted(map(hash, ids)))
        if page:
            self._pages.append(page)

    def __len__(self) -> int:
        return len(self._merged) + sum(len(page) for page in self._pages)

    def __contains__(self, record_id: object) -> bool:
        if self._pages:
            self._merged = array("q", heapq.merge(self._merged, *self._pages))
            self._pages = []
        key = hash(record_id)
        at = bisect_left(self._merged, key)
        return at < len(self._merged) and self._merged[at] == key


def missing(managed: Iterable[str], live: Collection[str] | SeenIds) -> list[str]:
    """The managed ids the CRM did not list, in the order given."""
    return [record_id for record_id in managed if record_id not in live]


def gone(
    candidates: Sequence[str], read: Callable[[Sequence[str]], Iterable[str]], *, chunk: int = CONFIRM_CHUNK
) -> list[str]:
    """The candidates a read by id still does not find (``read`` answers the ids it found)."""
    confirmed: list[str] = []
    for start in range(0, len(candidates), chunk):
        part = candidates[start : start + chunk]
        found = set(read(part))
        confirmed.extend(record_id for record_id in part if record_id not in found)
    return confirmed
