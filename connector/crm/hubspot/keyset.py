"""Incremental reads through search without the 10,000-result cap: every page is a new query. Pure.

Search pages by offset, and an offset past 10,000 results is refused; offsets also shift when records change
while we page (our own write-back moves ``lastmodifieddate``), which would skip records. So each page is a
fresh query from the last ``lastmodifieddate`` seen, sorted ascending, that never pages: ``GTE last`` re-reads
the records at exactly that time, which are dropped by id (``boundary``). When a whole page shares one time
(a bulk import can stamp thousands of records in the same millisecond) no query on the time alone can get
past it, so the records at that time are read by ``hs_object_id`` instead (``EQ time``, ``hs_object_id GT
last id``, sorted by id), after which the reading goes on with ``GT time``. Dates are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PAGE_LIMIT", "OwnWrites", "Position", "Seen", "id_search_body", "search_body", "step"]

PAGE_LIMIT = 200
MODIFIED = "lastmodifieddate"
ID = "hs_object_id"


@dataclass(frozen=True, slots=True)
class Seen:
    """One search result: its id and ``lastmodifieddate`` in epoch milliseconds."""

    id: str
    modified_ms: int


@dataclass(frozen=True, slots=True)
class Position:
    """Where the next query starts."""

    start_ms: int
    inclusive: bool = True
    """``GTE start`` (re-reading the boundary) or ``GT start`` (after the records at ``start`` were read by id)."""
    after_id: int | None = None
    """Reading the records at exactly ``start`` by id: those with a higher ``hs_object_id``."""
    boundary: frozenset[str] = field(default_factory=frozenset)
    """Ids already read whose ``lastmodifieddate`` is ``start``."""


@dataclass(frozen=True, slots=True)
class OwnWrites:
    """Our latest write-back: ``checked`` property values in ``[from_ms, until_ms]`` are our own echo."""

    checked_property: str
    from_ms: int
    until_ms: int

    def groups(self) -> list[list[dict[str, str]]]:
        """Filters ORed together: never written by us, written outside the window, or changed since."""
        checked, start, end = self.checked_property, str(self.from_ms), str(self.until_ms)
        return [
            [{"propertyName": checked, "operator": "NOT_HAS_PROPERTY"}],
            [{"propertyName": checked, "operator": "LT", "value": start}],
            [{"propertyName": checked, "operator": "GT", "value": end}],
            [{"propertyName": MODIFIED, "operator": "GTE", "value": end}],  # a change in our last ms is kept
        ]


def search_body(
    position: Position,
    properties: Sequence[str],
    *,
    limit: int = PAGE_LIMIT,
    own_writes: OwnWrites | None = None,
) -> dict[str, Any]:
    """The ``PublicObjectSearchRequest`` for ``position``: one sort, no offset; with ``own_writes``, four
    filter groups that leave out records whose last change was our own write-back."""
    if position.after_id is not None:
        filters = [
            {"propertyName": MODIFIED, "operator": "EQ", "value": str(position.start_ms)},
            {"propertyName": ID, "operator": "GT", "value": str(position.after_id)},
        ]
        sort = ID
    else:
        operator = "GTE" if position.inclusive else "GT"
        filters = [{"propertyName": MODIFIED, "operator": operator, "value": str(position.start_ms)}]
        sort = MODIFIED
    groups = [filters] if own_writes is None else [filters + extra for extra in own_writes.groups()]
    return {
        "filterGroups": [{"filters": group} for group in groups],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }


def step(
    position: Position, results: Sequence[Seen], *, limit: int = PAGE_LIMIT
) -> tuple[list[int], Position | None]:
    """(indexes of the results not read before, the next position or None when everything was read)."""
    fresh = [
        i
        for i, seen in enumerate(results)
        if not (seen.modified_ms == position.start_ms and seen.id in position.boundary)
    ]
    full = len(results) >= limit
    if position.after_id is not None:
        if not full:
            return fresh, Position(position.start_ms, inclusive=False)
        last = max(int(seen.id) for seen in results)
        return fresh, Position(position.start_ms, after_id=last, boundary=position.boundary)
    if not full:
        return fresh, None
    last_ms = max(seen.modified_ms for seen in results)
    at_last = frozenset(seen.id for seen in results if seen.modified_ms == last_ms)
    if last_ms == position.start_ms and position.inclusive:
        return fresh, Position(last_ms, after_id=-1, boundary=position.boundary | at_last)
    return fresh, Position(last_ms, boundary=at_last)


def id_search_body(after_id: int, properties: Sequence[str], *, limit: int = PAGE_LIMIT) -> dict[str, Any]:
    """The query of a full read in id order: ``hs_object_id GT after_id``, sorted by id, never paging.

    Each page starts a new query after the last id read, so the 10,000 cap never applies, and ids do not move
    when records change (our own write-back included), so nothing is skipped or read twice.
    """
    return {
        "filterGroups": [{"filters": [{"propertyName": ID, "operator": "GT", "value": str(after_id)}]}],
        "sorts": [{"propertyName": ID, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
