"""Run a validated search against the contact store, and render records as the SDK's models expect them.

Search results (matching indices in order) are cached per query until the next write, so paging through one
query evaluates the filters once. ``hs_object_id`` filters narrow the candidate range first, so the documented
workaround for the 10,000 cap (sort by ``hs_object_id``, restart with ``GT last id``) stays fast at a million.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from crm_sandbox.hubspot.errors import ApiError
from crm_sandbox.hubspot.properties import PropertyRegistry
from crm_sandbox.hubspot.search import (
    RESULT_CAP,
    Matcher,
    SearchRequest,
    _compare_arg,
    compile_groups,
    compiled_matches,
    contains_token,
    id_bounds,
    sort_key,
)
from crm_sandbox.hubspot.store import CONTACT_ID_BASE, ContactStore, Props

DEFAULT_CONTACT_PROPERTIES = ("firstname", "lastname", "email")
ALWAYS_CONTACT = ("createdate", "lastmodifieddate", "hs_object_id")
DEFAULT_COMPANY_PROPERTIES = ("name", "domain")
ALWAYS_COMPANY = ("createdate", "hs_lastmodifieddate", "hs_object_id")
QUERY_PROPERTIES = ("email", "firstname", "lastname", "phone", "mobilephone", "company")


def kind_resolver(registry: PropertyRegistry, object_type: str) -> Any:
    """A function property name -> (search kind, multi-valued) for ``object_type``."""
    defs = registry.defs[object_type]

    def kind_of(name: str) -> tuple[str, bool]:
        prop = defs.get(name)
        if prop is None:
            return "string", False
        kind = "enumeration" if prop.type == "bool" else prop.type
        return kind, prop.field_type == "checkbox"

    return kind_of


class SearchRunner:
    """Evaluates contact searches with a small per-version result cache."""

    def __init__(self, store: ContactStore, registry: PropertyRegistry) -> None:
        self.store = store
        self.registry = registry
        self._cache: OrderedDict[str, Sequence[int]] = OrderedDict()

    def run(self, req: SearchRequest) -> tuple[int, Sequence[int]]:
        """(total, page of indices) for a request; 400 when paging at or past the 10,000-result cap."""
        if req.after >= RESULT_CAP:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {RESULT_CAP} items; 'after' must be below {RESULT_CAP}.",
            )
        self.store.catch_up_search()
        early = None if self.store.pending else self._first_page_since(req)
        if early is not None:
            return early
        matches = self._matches(req)
        end = min(req.after + req.limit, RESULT_CAP)
        return len(matches), matches[req.after : end]

    def _first_page_since(self, req: SearchRequest) -> tuple[int, Sequence[int]] | None:
        """The first page of ``lastmodifieddate GT/GTE t`` queries with several filter groups (each repeating
        that bound, as an incremental read that leaves out its own echo does), sorted by it ascending: walked
        from the modification index and stopped once the page is full, instead of evaluating every record
        changed since ``t``. ``total`` is then an upper bound (HubSpot's is exact; the keyset reader ignores
        it). None for any other shape.
        """
        sort, kind_of = req.sort, kind_resolver(self.registry, "contacts")
        if req.query or req.after or len(req.groups) < 2 or sort is None or sort.descending:
            return None
        if sort.property != "lastmodifieddate" or kind_of("lastmodifieddate") != ("datetime", False):
            return None
        bounds = {
            tuple((f["operator"], str(f.get("value"))) for f in group
                  if f["propertyName"] == "lastmodifieddate" and f["operator"] in ("GT", "GTE"))[:1]
            for group in req.groups
        }  # fmt: skip
        if len(bounds) != 1 or not (bound := next(iter(bounds))):
            return None
        operator, raw = bound[0]
        threshold = _compare_arg(raw, "datetime")
        if threshold is None:
            return None
        store = self.store
        found = store.modified.after(threshold, inclusive=operator == "GTE", exclude=store.archived)
        # every record found meets the bound the groups share: only their other filters are evaluated
        shared = {"propertyName": "lastmodifieddate", "operator": operator, "value": raw}
        rest = tuple(_without_first(group, shared) for group in req.groups)
        matches = Matcher(compile_groups(rest, kind_of))
        page: list[int] = []
        for position, index in enumerate(found):
            if matches(self._getter(index)):
                page.append(index)
                if len(page) == req.limit:
                    return len(page) + len(found) - position - 1, page
        return len(page), page

    def _matches(self, req: SearchRequest) -> Sequence[int]:
        sort = req.sort and [req.sort.property, req.sort.descending]
        versions = [self.store.version, self.store.search_epoch]
        key = json.dumps([versions, req.groups, sort, req.query], sort_keys=True, default=str)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        result = self._evaluate(req)
        self._cache[key] = result
        while len(self._cache) > 8:
            self._cache.popitem(last=False)
        return result

    def _candidates(self, req: SearchRequest, *, lagging: bool) -> Sequence[Sequence[int]]:
        total = self.store.total
        if not req.groups:
            return [range(total)]
        moment = None if lagging else _one_moment(req.groups)
        if moment is not None:  # records tied on one millisecond, read by id: from the modification index
            store = self.store
            return [
                sorted(store.modified.after(moment, inclusive=True, until=moment, exclude=store.archived))
            ]
        ranges: list[range] = []
        for group in req.groups:
            bounds = id_bounds(group, CONTACT_ID_BASE)
            if bounds is None:
                return [range(total)]
            ranges.append(range(bounds[0], min(bounds[1], total)))
        ranges.sort(key=lambda r: r.start)
        merged: list[range] = []
        for r in ranges:
            if merged and r.start <= merged[-1].stop:
                merged[-1] = range(merged[-1].start, max(merged[-1].stop, r.stop))
            elif len(r):
                merged.append(r)
        return merged

    def _evaluate(self, req: SearchRequest) -> Sequence[int]:
        store, kind_of = self.store, kind_resolver(self.registry, "contacts")
        lagging = bool(store.pending)  # unindexed writes: scan what search holds instead of the indexes
        indexed = None if lagging else self._by_modified(req, kind_of)
        if indexed is not None:
            return indexed
        id_only = all(f["propertyName"] == "hs_object_id" for g in req.groups for f in g) and not req.query
        candidates = self._candidates(req, lagging=lagging)
        fast = not store.archived and not lagging and (req.sort is None or _by_id(req))
        if id_only and len(candidates) == 1 and fast:
            only = candidates[0]
            return only[::-1] if req.sort and req.sort.descending else only
        compiled = compile_groups(req.groups, kind_of)
        found: list[int] = []
        for r in candidates:
            for index in r:
                if index in store.archived or (lagging and store.searchable(index) is None):
                    continue
                get = self._getter(index)
                if compiled_matches(compiled, get) and _query_matches(req.query, get):
                    found.append(index)
        if req.sort and not _by_id(req):
            kind, _ = kind_of(req.sort.property)
            name = req.sort.property

            def value(i: int) -> str | None:
                return self._getter(i)(name) if lagging else store.properties(i).get(name)

            keyed = sorted(found, key=lambda i: (sort_key(value(i), kind), i))
            if req.sort.descending:
                present = [i for i in keyed if value(i) not in (None, "")]
                absent = [i for i in keyed if value(i) in (None, "")]
                keyed = present[::-1] + absent
            return keyed
        return found[::-1] if req.sort and req.sort.descending else found

    def _getter(self, index: int) -> Callable[[str], str | None]:
        """Property values of contact ``index`` for filtering: written values straight from the overlay, the
        seeded contact rendered only when a filter needs one of its other properties."""
        store, written = self.store, self.store.overlay.get(index) or {}
        props: Props | None = None
        if index in store.pending:  # search still holds the values from before the write
            written, props = {}, store.searchable(index) or {}

        def get(name: str) -> str | None:
            nonlocal props
            if name == "hs_object_id":
                return str(CONTACT_ID_BASE + index)
            if name in written:
                return written[name]
            if props is None:
                props = store.properties(index)
            return props.get(name)

        return get

    def _by_modified(self, req: SearchRequest, kind_of: Any) -> Sequence[int] | None:
        """``lastmodifieddate GT/GTE t`` (plus integer ``hs_object_id`` bounds) sorted by it ascending, from the
        modification index in O(log n + k); None when the request has another shape (then it is scanned).
        """
        sort = req.sort
        if req.query or len(req.groups) != 1 or sort is None or sort.descending:
            return None
        if sort.property != "lastmodifieddate" or kind_of("lastmodifieddate") != ("datetime", False):
            return None
        threshold: float | None = None
        inclusive = False
        lo, hi = 0, 1 << 62
        for f in req.groups[0]:
            name, op, raw = f["propertyName"], f["operator"], f.get("value")
            if name == "lastmodifieddate" and op in ("GT", "GTE") and threshold is None:
                threshold, inclusive = _compare_arg(raw, "datetime"), op == "GTE"
                if threshold is None:
                    return None
            elif name == "hs_object_id" and op in _ID_OPS and _INTEGER.fullmatch(str(raw)):
                value = int(str(raw)) - CONTACT_ID_BASE
                low, high = _ID_OPS[op](value)
                lo, hi = max(lo, low), min(hi, high)
            else:
                return None
        if threshold is None:
            return None
        found = self.store.modified.after(threshold, inclusive=inclusive, exclude=self.store.archived)
        if lo > 0 or hi < self.store.total:
            return array("q", (index for index in found if lo <= index < hi))
        return found


_INTEGER = re.compile(r"-?\d+")
_ID_OPS: dict[str, Any] = {
    "EQ": lambda v: (v, v + 1),
    "GT": lambda v: (v + 1, 1 << 62),
    "GTE": lambda v: (v, 1 << 62),
    "LT": lambda v: (0, v),
    "LTE": lambda v: (0, v + 1),
}


def _without_first(group: tuple[dict[str, Any], ...], shared: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The group less its first filter equal to ``shared``."""
    for position, f in enumerate(group):
        if {k: f.get(k) for k in shared} == shared:
            return group[:position] + group[position + 1 :]
    return group


def _one_moment(groups: tuple[tuple[dict[str, Any], ...], ...]) -> float | None:
    """The moment (epoch ms) every group pins ``lastmodifieddate`` to with ``EQ``, or None."""
    moments = set()
    for group in groups:
        pinned = [
            _compare_arg(f.get("value"), "datetime")
            for f in group
            if f["propertyName"] == "lastmodifieddate" and f["operator"] == "EQ"
        ]
        if not pinned or pinned[0] is None:
            return None
        moments.add(pinned[0])
    return moments.pop() if len(moments) == 1 else None


def _by_id(req: SearchRequest) -> bool:
    return req.sort is not None and req.sort.property == "hs_object_id"


def _query_matches(query: str | None, get: Any) -> bool:
    if not query:
        return True
    needle = query.strip().lower()
    return any(
        needle in (get(p) or "").lower() or contains_token(get(p) or "", needle) for p in QUERY_PROPERTIES
    )


def select(
    props: Props, wanted: Sequence[str] | None, defaults: Sequence[str], always: Sequence[str]
) -> Props:
    """The properties a response carries: requested (or default) ones that exist, plus the always-sent."""
    names = list(wanted) if wanted else list(defaults)
    out = {n: props[n] for n in names if n in props}
    for n in always:
        out.setdefault(n, props.get(n))
    return out


def object_json(
    object_id: str, props: Props, selected: Props, *, archived: bool = False, archived_at: str | None = None
) -> dict[str, Any]:
    """A ``SimplePublicObject``: id, properties, createdAt, updatedAt, archived (and archivedAt when archived)."""
    created = props.get("createdate") or "1970-01-01T00:00:00.000Z"
    updated = props.get("lastmodifieddate") or props.get("hs_lastmodifieddate") or created
    body: dict[str, Any] = {
        "id": object_id,
        "properties": selected,
        "createdAt": created,
        "updatedAt": updated,
        "archived": archived,
    }
    if archived:
        body["archivedAt"] = archived_at or updated
    return body
