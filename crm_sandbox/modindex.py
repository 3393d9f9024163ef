"""A modification-time index for incremental queries: O(log n + k) instead of rendering every record.

The seeded records' modification times come from `people.modified_at`; they are sorted once per data set
(cached per process, about 24 bytes per record) the first time an incremental query needs them. Every write
"moves" a record: its seeded entry becomes stale and a (key, tie, index) entry goes into a small sorted list.
An answer is the live part of the seeded array from the bisected threshold, merged with the moved entries.

Keys are numbers in the caller's unit (`scale` per second: microseconds for Salesforce, milliseconds for
HubSpot); ties between equal keys are broken by `tie(index)` (for example the lower-cased Salesforce Id), so
the index reproduces exactly the order a full scan followed by a stable sort would give.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import threading
from array import array
from collections.abc import Callable, Collection, Iterator
from itertools import repeat
from typing import Any

from crm_sandbox.people import modified_at

Tie = Callable[[int], Any]


def _by_index(index: int) -> int:
    return index


def _first(entry: tuple[Any, Any, int]) -> Any:
    return entry[0]


@functools.lru_cache(maxsize=8)
def seeded_order(seed: int, start: int, count: int, tie: Tie = _by_index) -> tuple[array[int], array[int]]:
    """(sorted modification seconds, record indexes) of persons `start .. start + count - 1`, by (time, tie)."""
    seconds = array("q", (int(modified_at(seed, start + local).timestamp()) for local in range(count)))
    return sorted_order(seconds, tie)


def sorted_order(seconds: array[int], tie: Tie = _by_index) -> tuple[array[int], array[int]]:
    """(sorted seconds, local indexes) of records whose modification seconds are `seconds`, by (time, tie)."""
    count = len(seconds)
    order = sorted(range(count), key=seconds.__getitem__)
    keys = array("q", (seconds[local] for local in order))
    del seconds
    if tie is not _by_index:
        position = 0
        while position < count:
            end = position + 1
            while end < count and keys[end] == keys[position]:
                end += 1
            if end - position > 1:
                order[position:end] = sorted(order[position:end], key=tie)
            position = end
    return keys, array("q", order)


class ModIndex:
    """The modification index of one object: seeded entries (built lazily) plus moved/created records."""

    def __init__(self, seed: int, start: int, count: int, scale: int, tie: Tie = _by_index) -> None:
        self.seed, self.start, self.count, self.scale, self.tie = seed, start, count, scale, tie
        self.lock = threading.RLock()
        self.moved: dict[int, Any] = {}  # index -> current key of every written or created record
        self.extra: list[tuple[Any, Any, int]] = []  # sorted (key, tie, index) of those records
        self._keys: array[int] | None = None
        self._indexes: array[int] | None = None
        self._where: array[int] | None = None
        self._stale: list[int] = []  # sorted positions in the seeded arrays of moved seeded records
        self._newly_stale: list[int] = []  # positions moved since `_stale` was last sorted (O(1) a write)

    def move(self, index: int, key: Any) -> None:
        """Record that `index` now has modification key `key` (a write or a creation)."""
        with self.lock:
            old = self.moved.get(index)
            if old is not None:
                entry = (old, self.tie(index), index)
                at = bisect.bisect_left(self.extra, entry)
                if at < len(self.extra) and self.extra[at] == entry:
                    del self.extra[at]
            elif index < self.count and self._where is not None:
                self._newly_stale.append(self._where[index])
            self.moved[index] = key
            bisect.insort(self.extra, (key, self.tie(index), index))

    def build(self, seconds: array[int] | None = None) -> None:
        """Sort the seeded records' modification times (once; cached per data set). `seconds`: the records'
        modification seconds when the caller has already drawn them (a scan of the seed it makes anyway)."""
        with self.lock:
            if self._keys is not None:
                return
            if seconds is not None and len(seconds) == self.count:
                keys, indexes = sorted_order(seconds, self.tie)
            else:
                keys, indexes = seeded_order(self.seed, self.start, self.count, self.tie)
            where = array("q", repeat(0, self.count))
            for position, index in enumerate(indexes):
                where[index] = position
            self._stale = sorted(where[index] for index in self.moved if index < self.count)
            self._keys, self._indexes, self._where = keys, indexes, where

    def seeded_newest_first(self) -> Iterator[tuple[int, int]]:
        """(seeded modification second, record index) of every seeded record, newest first (writes ignored)."""
        self.build()
        keys, indexes = self._keys, self._indexes
        assert keys is not None and indexes is not None
        for position in range(len(keys) - 1, -1, -1):
            yield keys[position], indexes[position]

    def key(self, index: int) -> Any:
        """The current key of record `index`: its last write's, or its seeded one (from the sorted arrays)."""
        moved = self.moved.get(index)
        if moved is not None:
            return moved
        self.build()
        assert self._keys is not None and self._where is not None
        return self._keys[self._where[index]] * self.scale

    def after(
        self, threshold: Any, *, inclusive: bool, exclude: Collection[int] = (), until: Any = None
    ) -> array[int]:
        """Indexes of records with key > threshold (>= when inclusive), by (key, tie), minus `exclude`; with
        `until`, only those with key <= until. A reader paging up to the row it started from thus costs what
        lies between its bounds, not every record written since (a write-back moves each record it writes
        past that row)."""
        self.build()
        with self.lock:
            keys, indexes, where = self._keys, self._indexes, self._where
            assert keys is not None and indexes is not None and where is not None

            def admitted(key: Any) -> bool:
                return bool(key >= threshold if inclusive else key > threshold)

            second = math.floor(threshold / self.scale) - 1
            while not admitted(second * self.scale):
                second += 1
            first = bisect.bisect_left(keys, second)
            stop = len(keys) if until is None else max(first, bisect.bisect_right(keys, until // self.scale))
            if self._newly_stale:  # one merge of two sorted runs per read, not a list insertion per write
                self._stale.extend(sorted(self._newly_stale))
                self._stale.sort()
                self._newly_stale.clear()
            stale = self._stale
            skip = set(stale[bisect.bisect_left(stale, first) : bisect.bisect_left(stale, stop)])
            for index in tuple(exclude):
                if index < self.count and index not in self.moved and first <= where[index] < stop:
                    skip.add(where[index])
            base = array("q")
            cut = first
            for position in sorted(skip):
                base.extend(indexes[cut:position])
                cut = position + 1
            base.extend(indexes[cut:stop])
            locate = bisect.bisect_left if inclusive else bisect.bisect_right
            at = locate(self.extra, threshold, key=_first)
            end = len(self.extra) if until is None else bisect.bisect_right(self.extra, until, key=_first)
            moved = [entry for entry in self.extra[at:end] if admitted(entry[0]) and entry[2] not in exclude]
        if not moved:
            return base
        if not base:
            return array("q", (entry[2] for entry in moved))
        last = base[-1]
        if moved[0][:2] > (keys[where[last]] * self.scale, self.tie(last)):
            base.extend(entry[2] for entry in moved)
            return base
        seeded: Iterator[tuple[Any, Any, int]] = (
            (keys[where[index]] * self.scale, self.tie(index), index) for index in base
        )
        return array("q", (entry[2] for entry in heapq.merge(seeded, moved)))
