"""CRM search semantics: request validation, filter evaluation and sorting, as HubSpot's search guide says.

Pure functions over a property getter, so they are unit-tested without HTTP. Groups are ORed, filters inside a
group ANDed; at most 5 groups, 6 filters per group, 18 in total; one sort; ``limit`` ≤ 200; ``after`` is an
integer offset; paging at or past 10,000 results is a 400. String values match without regard to case,
enumeration values exactly; IN/NOT_IN string values must already be lowercase; dates compare as epoch
milliseconds.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS, MAX_LIMIT, RESULT_CAP = 5, 6, 18, 200, 10_000
_TOKEN_SPLIT = re.compile(r"[\s,;]+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")

Getter = Callable[[str], str | None]
"""Returns the current value of a property of one record (None when unset)."""


class SearchError(ValueError):
    """An invalid search request: answered with 400 ``VALIDATION_ERROR`` and this message."""


@dataclass(frozen=True, slots=True)
class Sort:
    """The one sort rule: property name and direction."""

    property: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A validated ``PublicObjectSearchRequest``."""

    groups: tuple[tuple[dict[str, Any], ...], ...]
    sort: Sort | None
    properties: tuple[str, ...]
    limit: int
    after: int
    query: str | None


def parse_request(body: Mapping[str, Any]) -> SearchRequest:
    """Validate a search body; raise SearchError with HubSpot-like messages."""
    groups_raw = body.get("filterGroups") or []
    if not isinstance(groups_raw, list):
        raise SearchError("filterGroups must be a list")
    if len(groups_raw) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: {len(groups_raw)}. The maximum is {MAX_GROUPS}.")
    groups: list[tuple[dict[str, Any], ...]] = []
    total = 0
    for group in groups_raw:
        filters = (group or {}).get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group: {len(filters)}. The maximum is {MAX_FILTERS_PER_GROUP}."
            )
        for f in filters:
            op = f.get("operator")
            if op not in OPERATORS:
                raise SearchError(f"Unknown operator: {op}")
            if not f.get("propertyName"):
                raise SearchError("Each filter needs a propertyName.")
            if op in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
                raise SearchError(f"Operator {op} requires values.")
            if op == "BETWEEN" and (f.get("value") is None or f.get("highValue") is None):
                raise SearchError("Operator BETWEEN requires value and highValue.")
        total += len(filters)
        groups.append(tuple(filters))
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: {total}. The maximum is {MAX_FILTERS}.")
    sorts = body.get("sorts") or []
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported.")
    sort = _parse_sort(sorts[0]) if sorts else None
    limit = int(body.get("limit") or 10)
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    after_raw = body.get("after")
    try:
        after = int(str(after_raw)) if after_raw not in (None, "") else 0
    except (TypeError, ValueError):
        raise SearchError(f"Invalid after: {after_raw}") from None
    query = body.get("query")
    if query is not None and len(str(query)) > 3000:
        raise SearchError("query is longer than 3000 characters")
    return SearchRequest(
        groups=tuple(groups),
        sort=sort,
        properties=tuple(body.get("properties") or ()),
        limit=limit,
        after=after,
        query=str(query) if query else None,
    )


def _parse_sort(raw: Any) -> Sort:
    if isinstance(raw, str):
        return Sort(raw[1:], descending=True) if raw.startswith("-") else Sort(raw)
    if isinstance(raw, dict) and raw.get("propertyName"):
        return Sort(
            str(raw["propertyName"]), descending=str(raw.get("direction", "")).upper() == "DESCENDING"
        )
    raise SearchError(f"Invalid sort: {raw}")


@functools.lru_cache(maxsize=4096)
def to_ms(value: str) -> float | None:
    """An epoch-ms string, ISO datetime or ISO date as epoch milliseconds; None when unparsable. (Cached: a
    search compares the same few values, such as one page's write-back time, over many records.)"""
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def typed(value: str | None, kind: str) -> Any:
    """A value in comparable form for property type ``kind`` (None stays None)."""
    if value is None or value == "":
        return None
    if kind in ("date", "datetime"):
        return to_ms(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if kind == "enumeration":
        return value
    return value.lower()


def _compare_arg(raw: Any, kind: str) -> Any:
    if isinstance(raw, bool):
        raw = str(raw).lower()
    return typed(None if raw is None else str(raw), kind)


def filter_matches(f: Mapping[str, Any], value: str | None, kind: str, *, multi: bool = False) -> bool:
    """Whether one filter matches a record whose property has ``value`` (type ``kind``)."""
    return Prepared.of(f, kind, multi=multi).matches(value)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One filter with its arguments in comparable form, made once per search rather than once per record."""

    op: str
    kind: str
    multi: bool
    arg: Any = None
    high: Any = None
    token: str = ""
    wanted: frozenset[Any] = frozenset()

    @classmethod
    def of(cls, f: Mapping[str, Any], kind: str, *, multi: bool = False) -> Prepared:
        op = f["operator"]
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            return cls(op, kind, multi, token=str(f.get("value", "")))
        if op in ("IN", "NOT_IN"):
            values = f.get("values") or []
            wanted = frozenset(str(v) if kind == "enumeration" else _in_value(v, kind) for v in values)
            return cls(op, kind, multi, wanted=wanted)
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            return cls(op, kind, multi)
        high = _compare_arg(f.get("highValue"), kind) if op == "BETWEEN" else None
        return cls(op, kind, multi, arg=_compare_arg(f.get("value"), kind), high=high)

    def matches(self, value: str | None) -> bool:
        """Whether a record whose property has ``value`` matches."""
        op = self.op
        present = value is not None and value != ""
        if op == "HAS_PROPERTY":
            return present
        if op == "NOT_HAS_PROPERTY":
            return not present
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            hit = present and contains_token(str(value), self.token)
            return hit if op == "CONTAINS_TOKEN" else not hit
        have = _values(value, self.kind, multi=self.multi)
        if op in ("IN", "NOT_IN"):
            hit = any(h in self.wanted for h in have)
            return hit if op == "IN" else not hit
        arg = self.arg
        if op == "NEQ":
            return all(h != arg for h in have)
        if not have:
            return False
        if op == "EQ":
            return any(h == arg for h in have)
        if arg is None:
            return False
        try:
            if op == "BETWEEN":
                return any(arg <= h <= self.high for h in have)
            return any(_ORDER[op](h, arg) for h in have)
        except TypeError:
            return False


Compiled = tuple[tuple[tuple[str, Prepared], ...], ...]
"""Filter groups as (property name, prepared filter) pairs."""


def compile_groups(
    groups: tuple[tuple[dict[str, Any], ...], ...], kind_of: Callable[[str], tuple[str, bool]]
) -> Compiled:
    """The groups' filters prepared once for evaluating many records (``compiled_matches``)."""

    def one(f: Mapping[str, Any]) -> tuple[str, Prepared]:
        name = f["propertyName"]
        kind, multi = kind_of(name)
        return name, Prepared.of(f, kind, multi=multi)

    return tuple(tuple(one(f) for f in group) for group in groups)


class Matcher:
    """Prepared groups that remember each filter's outcome per value, for a walk over many records that share
    values (a write-back's time is the same for a page of records): each value is typed and compared once."""

    MEMO = 4096

    def __init__(self, compiled: Compiled) -> None:
        self.groups: tuple[tuple[tuple[str, Prepared, dict[str | None, bool]], ...], ...] = tuple(
            tuple((name, prepared, {}) for name, prepared in group) for group in compiled
        )

    def __call__(self, get: Getter) -> bool:
        """``compiled_matches`` for one record."""
        if not self.groups:
            return True
        values: dict[str, str | None] = {}
        for group in self.groups:
            for name, prepared, memo in group:
                value = values[name] if name in values else values.setdefault(name, get(name))
                hit = memo.get(value)
                if hit is None:
                    hit = prepared.matches(value)
                    if len(memo) >= self.MEMO:
                        memo.clear()
                    memo[value] = hit
                if not hit:
                    break
            else:
                return True
        return False


def compiled_matches(compiled: Compiled, get: Getter) -> bool:
    """``record_matches`` for prepared groups: any group whose filters all match (no groups = everything)."""
    if not compiled:
        return True
    return any(all(prepared.matches(get(name)) for name, prepared in group) for group in compiled)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "LT": lambda a, b: bool(a < b),
    "LTE": lambda a, b: bool(a <= b),
    "GT": lambda a, b: bool(a > b),
    "GTE": lambda a, b: bool(a >= b),
}


def _in_value(raw: Any, kind: str) -> Any:
    """IN/NOT_IN values: strings are compared as sent (HubSpot requires them lowercase)."""
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return text if kind in ("string", "phone_number", "bool") else typed(text, kind)


def _values(value: str | None, kind: str, *, multi: bool) -> list[Any]:
    if value is None or value == "":
        return []
    parts = value.split(";") if multi else [value]
    return [t for t in (typed(p, kind) for p in parts) if t is not None]


def contains_token(value: str, token: str) -> bool:
    """CONTAINS_TOKEN: ``token`` (``*`` wildcards allowed) equals the whole value or one of its tokens."""
    text, needle = value.lower(), token.lower()
    candidates = [text, *[t for t in _TOKEN_SPLIT.split(text) if t]]
    if "*" in needle:
        return any(fnmatch.fnmatchcase(c, needle) for c in candidates)
    return needle in candidates or needle in re.split(r"[^\w]+", text)


def record_matches(
    groups: tuple[tuple[dict[str, Any], ...], ...], get: Getter, kind_of: Callable[[str], tuple[str, bool]]
) -> bool:
    """Whether a record matches: any group whose filters all match (no groups = everything)."""
    return compiled_matches(compile_groups(groups, kind_of), get)


def sort_key(value: str | None, kind: str) -> tuple[int, Any]:
    """A key that sorts typed values ascending with unset values last."""
    typed_value = typed(value, kind)
    return (1, 0) if typed_value is None else (0, typed_value)


def id_bounds(group: tuple[dict[str, Any], ...], base: int) -> tuple[int, int] | None:
    """The index range ``[lo, hi)`` an ``hs_object_id`` filter group allows, or None when unconstrained by id.

    ``base`` is the id of index 0. Used only to narrow candidates; every filter is still evaluated.
    """
    lo, hi, constrained = 0, 1 << 62, False
    for f in group:
        if f["propertyName"] != "hs_object_id":
            continue
        op = f["operator"]
        try:
            v = int(float(str(f.get("value", 0)))) - base
            if op == "EQ":
                lo, hi = max(lo, v), min(hi, v + 1)
            elif op == "GT":
                lo = max(lo, v + 1)
            elif op == "GTE":
                lo = max(lo, v)
            elif op == "LT":
                hi = min(hi, v)
            elif op == "LTE":
                hi = min(hi, v + 1)
            elif op == "BETWEEN":
                lo, hi = max(lo, v), min(hi, int(float(str(f["highValue"]))) - base + 1)
            else:
                continue
        except (TypeError, ValueError):
            continue
        constrained = True
    return (max(lo, 0), max(hi, 0)) if constrained else None
