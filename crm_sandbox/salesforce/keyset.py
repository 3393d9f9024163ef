"""Incremental SOQL served from the modification index: bounds on (SystemModstamp, Id), then the rest.

An incremental reader pages with keyset conditions, `(SystemModstamp > t OR (SystemModstamp = t AND Id > x))`
after the last row read and `(SystemModstamp < t OR (SystemModstamp = t AND Id <= x))` up to a row (a page's
last, or the newest when the read began), besides plain `SystemModstamp >[=] t` / `<[=] t`. `bounds` (pure)
splits an AND of conditions into such a lower and upper bound and the rest; `serve` walks the index between the
bounds and checks the rest record by record. Keys are microseconds since the epoch; ties are lower-cased
18-character ids, the order `ORDER BY SystemModstamp, Id` gives.
"""

from __future__ import annotations

import functools
import heapq
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crm_sandbox.salesforce import consent_seed
from crm_sandbox.salesforce import seed as seeding
from crm_sandbox.salesforce.ids import normalize_id
from crm_sandbox.salesforce.schema import ObjectSpec
from crm_sandbox.salesforce.soql import BoolOp, Compare, Condition, Not, Order, Query
from crm_sandbox.salesforce.store import CREATED_BASE, Record, Store, micros

if TYPE_CHECKING:
    from crm_sandbox.salesforce.query import Executor

__all__ = [
    "Bound",
    "Bounds",
    "FieldByField",
    "bounds",
    "mentions_modstamp",
    "newest_consents",
    "serve",
    "view",
]


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a range over (key, tie); `tie` None means the bound is on the key alone."""

    key: int
    tie: str | None
    inclusive: bool

    def admits_from_below(self, key: int, tie: Callable[[], str]) -> bool:
        """Whether (key, tie()) lies above this lower bound; the tie is made only for a key equal to the bound's."""
        if key != self.key:
            return key > self.key
        return self.inclusive if self.tie is None else tie() > self.tie

    def admits_from_above(self, key: int, tie: Callable[[], str]) -> bool:
        """Whether (key, tie()) lies below this upper bound; the tie is made only for a key equal to the bound's."""
        if key != self.key:
            return key < self.key
        return self.inclusive if self.tie is None else tie() <= self.tie


@dataclass(frozen=True, slots=True)
class Bounds:
    lower: Bound | None
    upper: Bound | None
    rest: tuple[Condition, ...]


def _conjuncts(where: Condition | None) -> list[Condition]:
    if where is None:
        return []
    if isinstance(where, BoolOp) and where.op == "AND":
        return [item for part in where.items for item in _conjuncts(part)]
    return [where]


def _stamp(condition: Condition, ops: tuple[str, ...]) -> Compare | None:
    if (
        isinstance(condition, Compare)
        and condition.path.lower() == "systemmodstamp"
        and condition.op in ops
        and isinstance(condition.value, datetime)
    ):
        return condition
    return None


def _keyset(condition: Condition, *, above: bool) -> Bound | None:
    """`(SystemModstamp > t OR (SystemModstamp = t AND Id > x))`, or the `<` / `<=` mirror when not `above`."""
    if not isinstance(condition, BoolOp) or condition.op != "OR" or len(condition.items) != 2:
        return None
    strict, tied = condition.items
    first = _stamp(strict, (">",) if above else ("<",))
    if first is None or not isinstance(tied, BoolOp) or tied.op != "AND" or len(tied.items) != 2:
        return None
    equal, by_id = tied.items
    same = _stamp(equal, ("=",))
    if (
        same is None
        or same.value != first.value
        or not isinstance(by_id, Compare)
        or by_id.path.lower() != "id"
        or by_id.op != (">" if above else "<=")
        or not isinstance(by_id.value, str)
    ):
        return None
    tie = (normalize_id(by_id.value) or by_id.value).lower()
    return Bound(micros(first.value), tie, inclusive=False)


def bounds(where: Condition | None) -> Bounds:
    """The first lower and first upper bound found among the ANDed conditions, and every other condition."""
    lower: Bound | None = None
    upper: Bound | None = None
    rest: list[Condition] = []
    for condition in _conjuncts(where):
        if lower is None and (found := _lower(condition)) is not None:
            lower = found
        elif upper is None and (found := _upper(condition)) is not None:
            upper = found
        else:
            rest.append(condition)
    return Bounds(lower, upper, tuple(rest))


def _lower(condition: Condition) -> Bound | None:
    if (plain := _stamp(condition, (">", ">="))) is not None:
        return Bound(micros(plain.value), None, inclusive=plain.op == ">=")
    return _keyset(condition, above=True)


def _upper(condition: Condition) -> Bound | None:
    if (plain := _stamp(condition, ("<", "<="))) is not None:
        return Bound(micros(plain.value), None, inclusive=plain.op == "<=")
    return _keyset(condition, above=False)


def mentions_modstamp(condition: Condition) -> bool:
    """Whether a condition filters on SystemModstamp anywhere (in a shape the index does not serve)."""
    if isinstance(condition, BoolOp):
        return any(mentions_modstamp(item) for item in condition.items)
    if isinstance(condition, Not):
        return mentions_modstamp(condition.item)
    return condition.path.lower() == "systemmodstamp"


def _direction(order: tuple[Order, ...]) -> bool | None:
    """False for `ORDER BY SystemModstamp, Id`, True for both DESC, None for anything else."""
    if len(order) != 2 or order[0].path.lower() != "systemmodstamp" or order[1].path.lower() != "id":
        return None
    if order[0].descending != order[1].descending:
        return None
    return order[0].descending


class FieldByField(dict[str, Any]):
    """A seeded record read field by field: what was written to it (the overlay: every API write and user edit,
    with its SystemModstamp and LastModifiedById) answers first; the whole record is rendered only when a
    field asked for is not there. An incremental query's other conditions (the connector leaving out its own
    write-back by its checked-date field) then cost a dictionary lookup per record instead of a rendering."""

    __slots__ = ("_cheap", "_render")

    def __init__(
        self,
        known: Record,
        render: Callable[[], Record | None],
        cheap: dict[str, Callable[[], Any]] | None = None,
    ) -> None:
        super().__init__(known)
        self._render: Callable[[], Record | None] | None = render
        self._cheap = cheap or {}
        """Fields known without the whole record (`Lead.IsConverted` from the person's relation, ...)."""

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self and self._render is not None:
            if key in self._cheap:
                self[key] = self._cheap[key]()
                return self[key]
            rendered, self._render = self._render(), None
            self.update(rendered or {})
        return super().get(key, default)

    def __missing__(self, key: str) -> Any:
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value


_ABSENT = object()


def view(store: Store, obj: str, position: int, *, include_deleted: bool) -> Record | None:
    """The record at `position` for checking conditions: as `Store.get` gives it, field by field for a seeded
    Contact or Lead (see `FieldByField`)."""
    name = obj.lower()
    if position >= CREATED_BASE or not store.always_exists(name) or position >= store.seeded_count(name):
        return store.get(name, position, include_deleted=include_deleted)
    if position in store.purged[name]:
        return None
    deleted = position in store.deleted[name]
    if deleted and not include_deleted:
        return None
    known = dict(store.overlay[name].get(position) or {})
    if deleted:
        known["IsDeleted"] = True
    party = position if name == "contact" else store.contacts + position
    cheap: dict[str, Callable[[], Any]] = {
        "IndividualId": functools.partial(seeding.individual_id, store.seed, party)
    }
    if name == "lead":
        cheap["IsConverted"] = functools.partial(seeding.lead_converted, store.seed, store.contacts, position)
    return FieldByField(known, lambda: store.get(name, position, include_deleted=include_deleted), cheap)


def serve(
    executor: Executor, obj: ObjectSpec, query: Query, *, include_deleted: bool, any_order: bool
) -> array[int] | None:
    """The indexes the scan would answer, from the modification index; None when the shape is not served.

    Served: `ORDER BY SystemModstamp, Id` (both ascending, or both descending) with a lower bound, with an
    upper bound in keyset form, or with no condition on SystemModstamp at all, plus any other ANDed conditions;
    and, with `any_order`, an unordered query without LIMIT or OFFSET. Other SystemModstamp filters (a plain
    upper bound alone, relative dates) keep the scan.
    """
    index = executor.store.modstamps.get(obj.name.lower())
    descending = _direction(query.order)
    unordered = any_order and not query.order and query.limit is None and not query.offset
    if index is None or (descending is None and not unordered):
        return None
    found = bounds(query.where)
    lower, upper = found.lower, found.upper
    keyset_upper = upper is not None and upper.tie is not None
    if (
        lower is None
        and not unordered
        and ((upper is not None and not keyset_upper) or any(mentions_modstamp(item) for item in found.rest))
    ):
        return None
    exclude = executor.store.unlisted(obj.name, include_deleted=include_deleted)
    threshold, inclusive = (
        (lower.key, lower.inclusive or lower.tie is not None) if lower else (-(2**62), True)
    )
    until = upper.key if upper is not None else None
    candidates = index.after(threshold, inclusive=inclusive, exclude=exclude, until=until)
    if descending:
        candidates.reverse()
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    if (lower is None or lower.tie is None) and upper is None and not found.rest:
        return candidates[start:end] if start or end is not None else candidates
    # Conditions on SystemModstamp first: a reader leaving out its own write-back names there the fields its
    # write set, answered from what was written (`view`), so a record left out is never rendered for the others.
    rest = sorted(found.rest, key=lambda item: not mentions_modstamp(item))
    keep = [executor.predicate(obj, item, include_deleted=include_deleted) for item in rest]
    out = array("q")
    for position in candidates:
        key, tie = int(index.key(position)), functools.partial(index.tie, position)
        if lower is not None and not lower.admits_from_below(key, tie):
            if descending:
                break
            continue
        if upper is not None and not upper.admits_from_above(key, tie):
            if descending:
                continue
            break
        if keep:
            record = view(executor.store, obj.name, position, include_deleted=include_deleted)
            if record is None or not all(test(record) for test in keep):
                continue
        out.append(position)
        if end is not None and len(out) >= end:
            break
    return out[start:end] if start or end is not None else out


def newest_consents(
    executor: Executor, obj: ObjectSpec, query: Query, *, include_deleted: bool
) -> list[int] | None:
    """The candidates for `ORDER BY SystemModstamp DESC, Id DESC` with a LIMIT on ContactPointTypeConsent (a
    reader's newest consent change), in Id order; None for any other shape.

    A seeded row is older than its person's seeded modification plus `consent_seed.LATEST_AFTER_MODIFIED`, so
    the persons are visited newest first (from the Contact and Lead modification indexes) until that bound
    falls below the LIMIT-th newest matching row; rows written or created through the API are always visited.
    The candidates are the visited matching rows at least as new as that row: the caller sorts them as the
    scan would, so the answer is exactly the scan's, at the cost of the newest few persons instead of all."""
    store = executor.store
    name = obj.name.lower()
    if name != "contactpointtypeconsent" or query.limit is None or _direction(query.order) is not True:
        return None
    wanted = query.limit + (query.offset or 0)
    if wanted == 0:
        return []
    keep = executor.predicate(obj, query.where, include_deleted=include_deleted) if query.where else None
    found: list[tuple[int, int]] = []
    newest: list[int] = []  # the `wanted` newest stamps of matching rows seen so far (a min-heap)

    def visit(index: int) -> None:
        record = store.get(name, index, include_deleted=include_deleted)
        if record is None or (keep is not None and not keep(record)):
            return
        stamp = micros(record["SystemModstamp"])
        found.append((stamp, index))
        if len(newest) < wanted:
            heapq.heappush(newest, stamp)
        elif stamp > newest[0]:
            heapq.heapreplace(newest, stamp)

    written = set(store.overlay[name]) | set(store.created[name])
    for index in sorted(written):
        visit(index)
    slots = consent_seed.CONSENT_SLOTS
    lag = consent_seed.LATEST_AFTER_MODIFIED // timedelta(microseconds=1)
    leads = (
        (second, store.contacts + index) for second, index in store.modstamps["lead"].seeded_newest_first()
    )
    people = heapq.merge(store.modstamps["contact"].seeded_newest_first(), leads, reverse=True)
    for second, party in people:
        if len(newest) >= wanted and second * 1_000_000 + lag <= newest[0]:
            break
        if len(newest) >= wanted and micros(consent_seed.newest_bound(store.seed, party)) <= newest[0]:
            continue  # none of this person's seeded rows can be among the newest (written ones were visited)
        for index in range(party * slots, party * slots + slots):
            if index not in written:
                visit(index)
    threshold = newest[0] if len(newest) >= wanted else None
    return sorted(index for stamp, index in found if threshold is None or stamp >= threshold)
