"""Execute parsed SOQL against the store: resolve fields (case-insensitive, FLS-checked), filter, sort,
project.

`execute` returns the matching indexes; `project` renders one page of them in Salesforce's JSON shape (each
record with `attributes`, parent fields as nested objects or null). Values are formatted the way the REST
API sends them: datetimes as `2024-05-01T10:30:00.000+0000`, dates as `2024-05-01`. Aggregate queries are
answered by `aggregate`.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from crm_sandbox.salesforce import keyset
from crm_sandbox.salesforce.ids import normalize_id
from crm_sandbox.salesforce.schema import FieldSpec, ObjectSpec
from crm_sandbox.salesforce.soql import (
    BoolOp,
    Compare,
    Condition,
    DateRange,
    InList,
    InQuery,
    Like,
    Not,
    Query,
    SoqlError,
)
from crm_sandbox.salesforce.store import Record, Store

Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]


def format_value(value: Any) -> Any:
    """A Python value as the REST API writes it in JSON."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if isinstance(value, date):
        return value.isoformat()
    return value


def no_such_column(obj: str, name: str) -> SoqlError:
    """The INVALID_FIELD error Salesforce gives for an unknown (or invisible) field."""
    return SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names.",
    )


@dataclass(frozen=True, slots=True)
class Column:
    """A resolved SELECT path: a field of the object, or a field of a parent through a relationship."""

    field: FieldSpec
    relation: FieldSpec | None = None
    parent: ObjectSpec | None = None


class Executor:
    """Runs queries for one store; `api_version` only shapes the attribute URLs."""

    def __init__(self, store: Store, api_version: str = "59.0") -> None:
        self.store, self.api_version = store, api_version
        self._local = threading.local()  # the sub-selects answered within the running query (`semi_join`)

    def object(self, name: str) -> ObjectSpec:
        """The queried object, or INVALID_TYPE."""
        spec = self.store.spec(name)
        if spec is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be "
                "sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        return spec

    def column(self, obj: ObjectSpec, path: str) -> Column:
        """Resolve `Field` or `Relationship.Field`; unknown or FLS-hidden fields raise INVALID_FIELD."""
        if "." in path:
            relation_name, field_name = path.split(".", 1)
            relation = obj.relationship(relation_name)
            parent = self.store.spec(relation.reference_to or "") if relation else None
            if relation is None or parent is None or "." in field_name:
                raise no_such_column(obj.name, path)
            spec = parent.field(field_name)
            if spec is None or not self.store.visible(parent, spec):
                raise no_such_column(parent.name, field_name)
            return Column(spec, relation, parent)
        spec = obj.field(path)
        if spec is None or not self.store.visible(obj, spec):
            raise no_such_column(obj.name, path)
        return Column(spec)

    def getter(self, column: Column) -> Getter:
        """A function reading the column's value from a record (fetching the parent when needed)."""
        name = column.field.name
        default = column.field.default
        if column.relation is None:
            return lambda record: record.get(name, default)
        relation = column.relation.name

        def parent_value(record: Record) -> Any:
            parent_id = record.get(relation)
            parent = self.store.get_by_id(parent_id) if parent_id else None
            return parent.get(name, default) if parent else None

        return parent_value

    # -- filtering ---------------------------------------------------------------------------------
    def predicate(self, obj: ObjectSpec, condition: Condition, *, include_deleted: bool) -> Predicate:
        """Compile a WHERE condition into a function of a record."""
        if isinstance(condition, BoolOp):
            parts = [self.predicate(obj, item, include_deleted=include_deleted) for item in condition.items]
            if condition.op == "AND":
                return lambda record: all(part(record) for part in parts)
            return lambda record: any(part(record) for part in parts)
        if isinstance(condition, Not):
            inner = self.predicate(obj, condition.item, include_deleted=include_deleted)
            return lambda record: not inner(record)
        column = self.column(obj, condition.path)
        get = self.getter(column)
        if isinstance(condition, Like):
            regex = re.compile(_like_regex(condition.pattern), re.IGNORECASE | re.DOTALL)
            return lambda record: isinstance(value := get(record), str) and regex.fullmatch(value) is not None
        if isinstance(condition, InQuery):  # a null never matches a semi-join
            values = self.semi_join(condition.query, include_deleted=include_deleted) - {None}
            negate = condition.negate
            return lambda record: (value := get(record)) is not None and (value in values) != negate
        if isinstance(condition, InList):
            wanted = {_key(_coerce(column.field, value)) for value in condition.values}
            negate = condition.negate
            return lambda record: (_key(get(record)) in wanted) != negate
        assert isinstance(condition, Compare)
        return _comparison(get, condition.op, _coerce(column.field, condition.value))

    def semi_join(self, query: Query, *, include_deleted: bool) -> set[Any]:
        """The values of the one selected id field of a sub-select."""
        if len(query.fields) != 1 or query.count:
            raise SoqlError("MALFORMED_QUERY", "a semi-join sub-select must select exactly one field")
        obj = self.object(query.sobject)
        column = self.column(obj, query.fields[0])
        if column.field.type not in ("id", "reference"):
            raise SoqlError("MALFORMED_QUERY", "semi-join sub-selects must select an Id or reference field")
        joins: dict[tuple[int, bool], tuple[Query, set[Any]]] | None = getattr(self._local, "joins", None)
        if joins is not None and (done := joins.get((id(query), include_deleted))) and done[0] is query:
            return set(done[1])  # the same sub-select, asked again by the same query (its scan and its WHERE)
        get = self.getter(column)
        values = {get(record) for record in self.records(query, include_deleted=include_deleted)}
        if joins is not None:
            joins[(id(query), include_deleted)] = (query, values)
        return set(values)

    def records(self, query: Query, *, include_deleted: bool) -> list[Record]:
        """All matching records of a sub-query, in any order (a semi-join needs the set only)."""
        obj = self.object(query.sobject)
        return [
            record
            for index in self.execute(query, include_deleted=include_deleted, any_order=True)
            if (record := keyset.view(self.store, obj.name, index, include_deleted=include_deleted))
            is not None
        ]  # read field by field (`keyset.view`): a sub-select needs one field of each record

    # -- the whole query ---------------------------------------------------------------------------
    def execute(self, query: Query, *, include_deleted: bool, any_order: bool = False) -> array[int]:
        """The indexes of the records a query matches, sorted, with LIMIT and OFFSET applied.

        `any_order`: the caller needs the set only (a semi-join), so the index may answer in its own order.
        A sub-select is answered once per query, though both the choice of records to visit and the WHERE ask.
        """
        if getattr(self._local, "joins", None) is not None:
            return self._execute(query, include_deleted=include_deleted, any_order=any_order)
        self._local.joins = {}
        try:
            return self._execute(query, include_deleted=include_deleted, any_order=any_order)
        finally:
            self._local.joins = None

    def _execute(self, query: Query, *, include_deleted: bool, any_order: bool) -> array[int]:
        obj = self.object(query.sobject)
        for path in query.fields:
            self.column(obj, path)
        order = [(self.getter(self.column(obj, item.path)), item) for item in query.order]
        any_order = any_order or (
            query.count and not query.order
        )  # a COUNT() needs how many, not which first
        # an unordered query restricted to listed ids visits those only, rather than the modification index
        chosen = None if query.order else self._chosen_ids(obj, query.where, include_deleted=include_deleted)
        if chosen is None:
            indexed = self.modstamp_scan(obj, query, include_deleted=include_deleted, any_order=any_order)
            if indexed is not None:
                return indexed
        keep = self.predicate(obj, query.where, include_deleted=include_deleted) if query.where else None
        natural = not order or (len(order) == 1 and order[0][1].path.lower() == "id")
        stop = None if not natural or query.limit is None else query.limit + (query.offset or 0)
        fast = keep is None and natural and self.store.always_exists(obj.name)
        sorting = bool(order) and not natural
        matches: list[tuple[int, tuple[Any, ...]]] = []
        if query.order:
            chosen = self._chosen_ids(obj, query.where, include_deleted=include_deleted)
        if query.order and chosen is None:
            chosen = keyset.newest_consents(self, obj, query, include_deleted=include_deleted)
        for index in self.store.indexes(obj.name) if chosen is None else chosen:
            if fast:
                if self.store.listed(obj.name, index, include_deleted=include_deleted):
                    matches.append((index, ()))
            else:
                record = self.store.get(obj.name, index, include_deleted=include_deleted)
                if record is not None and (keep is None or keep(record)):
                    matches.append((index, tuple(get(record) for get, _ in order) if sorting else ()))
            if stop is not None and len(matches) >= stop:
                break
        if natural and order and order[0][1].descending:
            matches.reverse()
        elif sorting:
            for position in reversed(range(len(order))):
                item = order[position][1]
                nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
                flag = 1 if nulls_last != item.descending else 0

                def sort_key(pair: tuple[int, tuple[Any, ...]], at: int = position, flag: int = flag) -> Any:
                    value = pair[1][at]
                    return (flag, "") if value is None else (1 - flag, _key(value))

                matches.sort(key=sort_key, reverse=item.descending)
        start = query.offset or 0
        end = None if query.limit is None else start + query.limit
        return array("q", (index for index, _ in matches[start:end]))

    def _chosen_ids(
        self, obj: ObjectSpec, where: Condition | None, *, include_deleted: bool
    ) -> list[int] | None:
        """The record indexes an ANDed `Id IN (...)`, `Id = '...'` or indexed lookup `X IN (...)` allows,
        in scan order; None if unrestricted.

        The scan then visits only those (the whole WHERE is still checked), so a read by id costs O(k).
        """
        conjuncts = list(where.items) if isinstance(where, BoolOp) and where.op == "AND" else [where]
        for item in conjuncts:
            if isinstance(item, InQuery) and not item.negate and item.path.lower() != "id":
                parents = self.semi_join(item.query, include_deleted=include_deleted)
                referencing = self.store.referencing(obj.name, item.path, parents)
                if referencing is not None:
                    return referencing
            if isinstance(item, InList) and not item.negate and item.path.lower() != "id":
                listed = {value for value in item.values if isinstance(value, str)}
                referencing = self.store.referencing(obj.name, item.path, listed)
                if referencing is not None:
                    return referencing
            if isinstance(item, InList) and not item.negate and item.path.lower() == "id":
                values: tuple[Any, ...] = item.values
            elif isinstance(item, Compare) and item.op == "=" and item.path.lower() == "id":
                values = (item.value,)
            else:
                continue
            located = (self.store.locate(value) if isinstance(value, str) else None for value in values)
            return sorted({found[1] for found in located if found is not None and found[0].name == obj.name})
        return None

    def modstamp_scan(
        self, obj: ObjectSpec, query: Query, *, include_deleted: bool, any_order: bool = False
    ) -> array[int] | None:
        """The answer of an incremental query from the modification index, else None (use the scan).

        The shapes served, always with exactly the scan's answer, are listed in `keyset.serve`. `any_order`:
        the caller (a semi-join) needs the set only.
        """
        return keyset.serve(self, obj, query, include_deleted=include_deleted, any_order=any_order)

    def project(self, query: Query, indexes: array[int], *, include_deleted: bool) -> list[dict[str, Any]]:
        """Render records in the REST shape, keeping the SELECT order of fields."""
        obj = self.object(query.sobject)
        columns = [self.column(obj, path) for path in query.fields]
        out: list[dict[str, Any]] = []
        for index in indexes:
            record = self.store.get(obj.name, index, include_deleted=include_deleted)
            if record is None:
                continue
            out.append(self.render(obj, record, columns))
        return out

    def attributes(self, obj: ObjectSpec, record_id: str) -> dict[str, str]:
        """The `attributes` object of a record."""
        return {
            "type": obj.name,
            "url": f"/services/data/v{self.api_version}/sobjects/{obj.name}/{record_id}",
        }

    def render(self, obj: ObjectSpec, record: Record, columns: list[Column]) -> dict[str, Any]:
        """One record with the given columns."""
        row: dict[str, Any] = {"attributes": self.attributes(obj, record["Id"])}
        parents: dict[str, Record | None] = {}
        for column in columns:
            if column.relation is None or column.parent is None:
                row[column.field.name] = format_value(record.get(column.field.name, column.field.default))
                continue
            relationship = column.relation.relationship_name or column.relation.name
            if relationship not in parents:
                parent_id = record.get(column.relation.name)
                parents[relationship] = self.store.get_by_id(parent_id) if parent_id else None
                parent_record = parents[relationship]
                row[relationship] = (
                    {"attributes": self.attributes(column.parent, parent_record["Id"])}
                    if parent_record
                    else None
                )
            parent_record = parents[relationship]
            if parent_record is not None:
                value = parent_record.get(column.field.name, column.field.default)
                row[relationship][column.field.name] = format_value(value)
        return row


def _like_regex(pattern: str) -> str:
    out = []
    for char in pattern:
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return "".join(out)


def comparison_key(value: Any) -> Any:
    """A comparison key: strings compare case-insensitively, as SOQL does."""
    return value.lower() if isinstance(value, str) else value


_key = comparison_key


def _coerce(spec: FieldSpec, value: Any) -> Any:
    """Check a literal against the field's type the way Salesforce does, and convert ids to 18 characters."""
    if value is None:
        return None
    kind = spec.type
    wrong = SoqlError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{spec.name}' must be of type {_soql_type(kind)} and should "
        f"{'not ' if kind not in _QUOTED else ''}be enclosed in quotes",
    )
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong
    elif kind == "datetime":
        if isinstance(value, DateRange):
            return value
        if not isinstance(value, datetime):
            raise wrong
    elif kind == "date":
        if isinstance(value, DateRange):
            return value
        if isinstance(value, datetime) or not isinstance(value, date):
            raise wrong
    elif kind in ("double", "currency"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
    elif not isinstance(value, str):
        raise wrong
    elif kind in ("id", "reference"):
        return normalize_id(value) or value
    return value


_QUOTED = frozenset({"string", "textarea", "email", "phone", "picklist", "url", "id", "reference"})


def _soql_type(kind: str) -> str:
    return {"datetime": "dateTime", "reference": "reference", "id": "id", "currency": "currency"}.get(
        kind, kind
    )


def _comparison(get: Getter, op: str, value: Any) -> Predicate:
    if isinstance(value, DateRange):
        return _range_comparison(get, op, value)
    if value is None:
        if op not in ("=", "!="):
            raise SoqlError("MALFORMED_QUERY", "null can only be compared with = or !=")
        return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
    wanted = _key(value)
    tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v == wanted, "!=": lambda v: v != wanted, "<": lambda v: v < wanted,
        "<=": lambda v: v <= wanted, ">": lambda v: v > wanted, ">=": lambda v: v >= wanted,
    }  # fmt: skip
    test = tests[op]
    if op == "!=":
        return lambda record: (current := get(record)) is None or test(_key(current))
    return lambda record: (current := get(record)) is not None and test(_key(current))


def _range_comparison(get: Getter, op: str, span: DateRange) -> Predicate:
    def day(record: Record) -> date | None:
        value = get(record)
        return value.astimezone(UTC).date() if isinstance(value, datetime) else value

    tests: dict[str, Callable[[date], bool]] = {
        "=": lambda d: span.start <= d < span.end, "!=": lambda d: not span.start <= d < span.end,
        "<": lambda d: d < span.start, "<=": lambda d: d < span.end,
        ">": lambda d: d >= span.end, ">=": lambda d: d >= span.start,
    }  # fmt: skip
    test = tests[op]
    return lambda record: (current := day(record)) is not None and test(current)
