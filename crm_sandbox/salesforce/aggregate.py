"""GROUP BY and aggregate SOQL (COUNT, COUNT_DISTINCT, MAX, MIN, SUM, AVG) as AggregateResult rows.

Rows are keyed the way Salesforce keys them: a grouped field by its name (the last segment of a parent path,
`Type` for `Account.Type`) or its alias, an unaliased aggregate as `expr0`, `expr1`, ... in SELECT order. Text
groups case-insensitively, as SOQL compares text. Long text cannot be grouped or aggregated.
"""

from __future__ import annotations

from typing import Any

from crm_sandbox.salesforce.query import Column, Executor, comparison_key, format_value
from crm_sandbox.salesforce.schema import ObjectSpec
from crm_sandbox.salesforce.soql import Aggregate, Query, SoqlError

__all__ = ["aggregate"]


def aggregate(executor: Executor, query: Query, *, include_deleted: bool) -> list[dict[str, Any]]:
    """AggregateResult rows of a GROUP BY or aggregate query, LIMIT and OFFSET applied to the groups.

    Group keys are the field names (the last segment of a parent path, as Salesforce names them) or the
    aliases; unaliased aggregates are `expr0`, `expr1`, ... in SELECT order. Without GROUP BY there is
    exactly one row, even when nothing matches.
    """
    obj = executor.object(query.sobject)
    groups = [(_groupable(executor, obj, path), path) for path in query.group_by]
    aggregates = [(_aggregated(executor, obj, item), item) for item in query.aggregates]
    base = Query((*query.group_by, *(item.path for item in query.aggregates)), query.sobject, query.where)
    rows: dict[tuple[Any, ...], tuple[list[Any], list[_Accumulator]]] = {}
    for index in executor.execute(base, include_deleted=include_deleted):
        record = executor.store.get(obj.name, index, include_deleted=include_deleted)
        if record is None:
            continue
        values = [executor.getter(column)(record) for column, _ in groups]
        key = tuple(comparison_key(value) for value in values)
        if key not in rows:
            rows[key] = (values, [_Accumulator(item.function) for _, item in aggregates])
        for accumulator, (column, _) in zip(rows[key][1], aggregates, strict=True):
            accumulator.add(executor.getter(column)(record))
    if not groups and not rows:
        rows[()] = ([], [_Accumulator(item.function) for _, item in aggregates])
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return [
        _aggregate_row(query, groups, values, accumulators)
        for values, accumulators in list(rows.values())[start:end]
    ]


def _groupable(executor: Executor, obj: ObjectSpec, path: str) -> Column:
    column = executor.column(obj, path)
    if column.field.type == "textarea":
        raise SoqlError("INVALID_FIELD", f"field '{column.field.name}' can not be grouped in a query call")
    return column


def _aggregated(executor: Executor, obj: ObjectSpec, item: Aggregate) -> Column:
    column = executor.column(obj, item.path)
    kind = column.field.type
    numeric = kind in ("double", "currency")
    allowed = (
        kind != "textarea"
        and (item.function not in ("SUM", "AVG") or numeric)
        and (item.function not in ("MAX", "MIN") or kind != "boolean")
    )
    if not allowed:
        raise SoqlError(
            "INVALID_FIELD",
            f"field {column.field.name} does not support aggregate operator {item.function}",
        )
    return column


def _aggregate_row(
    query: Query,
    groups: list[tuple[Column, str]],
    values: list[Any],
    accumulators: list[_Accumulator],
) -> dict[str, Any]:
    """One AggregateResult, keys in SELECT order."""
    by_path = {path.lower(): (column, value) for (column, path), value in zip(groups, values, strict=True)}
    results = iter(accumulators)
    row: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    unnamed = 0
    for item in query.items:
        if isinstance(item, Aggregate):
            if item.alias is None:
                name, unnamed = f"expr{unnamed}", unnamed + 1
            row[item.alias or name] = format_value(next(results).result())
        else:
            column, value = by_path[item.path.lower()]
            row[item.alias or column.field.name] = format_value(value)
    return row


class _Accumulator:
    """One aggregate over one group: COUNT and COUNT_DISTINCT skip nulls, as do MAX, MIN, SUM and AVG."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.count = 0
        self.distinct: set[Any] = set()
        self.best: Any = None
        self.total = 0.0

    def add(self, value: Any) -> None:
        if value is None:
            return
        self.count += 1
        if self.function == "COUNT_DISTINCT":
            self.distinct.add(comparison_key(value))
        elif (
            self.function == "MAX"
            and (self.best is None or comparison_key(value) > comparison_key(self.best))
        ) or (
            self.function == "MIN"
            and (self.best is None or comparison_key(value) < comparison_key(self.best))
        ):
            self.best = value
        elif self.function in ("SUM", "AVG"):
            self.total += float(value)

    def result(self) -> Any:
        if self.function == "COUNT":
            return self.count
        if self.function == "COUNT_DISTINCT":
            return len(self.distinct)
        if self.function == "SUM":
            return self.total if self.count else None
        if self.function == "AVG":
            return self.total / self.count if self.count else None
        return self.best
