"""Bulk API 2.0 query jobs: create (UploadComplete), poll (InProgress, then JobComplete), read CSV results in
locator-paged chunks, abort, delete.

The query is checked when the job is created (an unknown field or object fails the create as on Salesforce)
and runs against the same SOQL engine as REST (`query` or `queryAll`). A query the modification index or an
Id list answers runs at once; one that must look at every record of its object (in Id order, a WHERE on
other fields) runs while the job is InProgress, a slice of records per poll, so no request renders a million
records. The rows it matched are the job's rows, and each chunk renders their values when it is read (the
records themselves are not copied, so a job over a million rows costs the emulator its row numbers only); results
are CSV with the API names (parent fields as `Account.Type`) as the header, `true`/`false` booleans, REST
date formats and empty cells for null. Chunks are `maxRecords` rows (default 50,000) and carry
`Sforce-Locator` (the next chunk's locator, or `null`) and `Sforce-NumberOfRecords`. Compound fields
(`MailingAddress`) cannot be serialised to CSV, so a job selecting one fails, as on Salesforce.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import Column, Executor, format_value
from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.soql import BoolOp, Compare, Condition, InList, InQuery, Query, SoqlError, parse
from crm_sandbox.salesforce.state import ApiError, SalesforceState
from crm_sandbox.salesforce.store import Record

_JOB_KEYS = ("operation", "query", "contentType", "columnDelimiter", "lineEnding")
_DEFAULT_CHUNK = 50_000
SCAN_SLICE_S = 1.0
"""The longest a poll spends running a job's scan: a large scan keeps the job InProgress over several polls."""
_PUBLIC = (
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed",
    "retries", "totalProcessingTime", "errorMessage",
)  # fmt: skip


def create_job(state: SalesforceState, call: Call) -> Reply:
    """`POST jobs/query`: check the query, then run it and keep its rows for the result chunks (or, for a scan
    of every record, leave it to the polls)."""
    spec = call.json()
    if not isinstance(spec, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "a JSON job definition is required")
    for key in spec:
        if key not in _JOB_KEYS:
            raise ApiError(400, "JSON_PARSER_ERROR", f'Unrecognized field "{key}" at [line:1, column:2]')
    operation = spec.get("operation")
    if operation not in ("query", "queryAll"):
        raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    if spec.get("columnDelimiter", "COMMA") != "COMMA" or spec.get("contentType", "CSV") != "CSV":
        raise ApiError(400, "FEATURENOTENABLED", "the sandbox supports comma-separated CSV only")
    try:
        parsed = parse(str(spec.get("query") or ""), today=state.store.clock().date())
        obj = state.executor.object(parsed.sobject)
        if parsed.grouped or parsed.count:
            raise ApiError(400, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0 query")
        compound = [
            path for path in parsed.fields if (f := obj.field(path)) is not None and f.type == "address"
        ]
        include_deleted = operation == "queryAll"
        scan = _Scan.of(state.executor, parsed, include_deleted=include_deleted)
        indexes = state.executor.execute(parsed, include_deleted=include_deleted) if scan is None else None
    except SoqlError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    now = state.store.clock().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    job_id = make_id("750", 500_000 + len(state.jobs) + 1)
    failed = (
        f"FeatureNotEnabled : Cannot serialize value for '{compound[0]}' in CSV format" if compound else None
    )
    state.jobs[job_id] = {
        "id": job_id, "operation": operation, "object": obj.name, "createdById": state.store.user_id,
        "createdDate": now, "systemModstamp": now, "state": "UploadComplete", "concurrencyMode": "Parallel",
        "contentType": "CSV", "apiVersion": float(call.version), "jobType": "V2Query",
        "lineEnding": spec.get("lineEnding", "LF"), "columnDelimiter": "COMMA",
        "numberRecordsProcessed": 0, "retries": 0, "totalProcessingTime": 0, "errorMessage": failed,
        "_fields": list(parsed.fields), "_rows": indexes, "_parsed": parsed, "_query": True, "_scan": scan,
    }  # fmt: skip
    return Reply(body=_public(state.jobs[job_id]))


def _job(state: SalesforceState, job_id: str) -> dict[str, Any]:
    job = state.jobs.get(job_id)
    if job is None or not job.get("_query"):
        raise not_found()
    return job


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {key: job[key] for key in _PUBLIC}


def get_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`GET jobs/query/{id}`: UploadComplete -> InProgress -> JobComplete (or Failed) on successive polls."""
    job = _job(state, job_id)
    if job["state"] == "UploadComplete":
        job["state"] = "InProgress"
    elif job["state"] == "InProgress":
        scan: _Scan | None = job["_scan"]
        if scan is not None and not job["errorMessage"]:
            try:
                finished = scan.advance(state.executor, SCAN_SLICE_S)
            except SoqlError as exc:  # a field of the WHERE lost its permission since the job was created
                finished, job["errorMessage"] = True, f"{exc.code} : {exc.message}"
            if not finished:
                return Reply(body=_public(job))
            job["_rows"], job["_scan"] = scan.rows(), None
        job["state"] = "Failed" if job["errorMessage"] else "JobComplete"
        job["numberRecordsProcessed"] = 0 if job["errorMessage"] else len(job["_rows"])
    return Reply(body=_public(job))


def abort_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`PATCH jobs/query/{id}` with `{"state": "Aborted"}`."""
    job = _job(state, job_id)
    if (call.json() or {}).get("state") != "Aborted" or job["state"] in ("JobComplete", "Failed", "Aborted"):
        raise ApiError(400, "INVALIDJOBSTATE", f"Cannot change the state of a job from {job['state']}")
    job["state"] = "Aborted"
    return Reply(body=_public(job))


def delete_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`DELETE jobs/query/{id}`: 204."""
    _job(state, job_id)
    del state.jobs[job_id]
    return Reply(status=204)


def list_jobs(state: SalesforceState, call: Call) -> Reply:
    """`GET jobs/query`: the query jobs."""
    records = [_public(job) for job in state.jobs.values() if job.get("_query")]
    return Reply(body={"done": True, "records": records, "nextRecordsUrl": None})


def results(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`GET jobs/query/{id}/results?locator=&maxRecords=`: one CSV chunk and the next chunk's locator."""
    job = _job(state, job_id)
    if job["state"] != "JobComplete":
        raise ApiError(400, "INVALIDJOBSTATE", "Job is not complete; results are not available yet")
    try:
        start = int(call.params.get("locator") or 0)
        size = int(call.params.get("maxRecords") or _DEFAULT_CHUNK)
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", "locator and maxRecords must be numbers") from None
    if start < 0 or size < 1:
        raise ApiError(400, "INVALIDLOCATOR", "invalid locator or maxRecords")
    indexes: array[int] = job["_rows"]
    try:
        rows = _csv_rows(
            state.executor,
            job["_parsed"],
            indexes[start : start + size],
            include_deleted=job["operation"] == "queryAll",
        )
    except SoqlError as exc:  # a field lost its permission since the job ran
        raise ApiError(400, exc.code, exc.message) from None
    out = io.StringIO()
    writer = csv.writer(
        out, lineterminator="\n" if job["lineEnding"] == "LF" else "\r\n", quoting=csv.QUOTE_ALL
    )
    writer.writerow(job["_fields"])
    writer.writerows(rows)
    following = start + size
    headers = {
        "Sforce-Locator": str(following) if following < len(indexes) else "null",
        "Sforce-NumberOfRecords": str(len(rows)),
    }
    return Reply(text=out.getvalue(), media_type="text/csv", headers=headers)


def _csv_rows(
    executor: Executor, query: Query, indexes: array[int], *, include_deleted: bool
) -> list[list[str]]:
    """The CSV cells of the records at `indexes` (those still there), in the SELECT order of fields: the values
    `Executor.project` gives, read straight from each record and its parents (each parent rendered once a
    chunk)."""
    obj = executor.object(query.sobject)
    columns = [executor.column(obj, path) for path in query.fields]
    readers = [_reader(column) for column in columns]
    relations = list(dict.fromkeys(column.relation.name for column in columns if column.relation is not None))
    parents: dict[str, Record | None] = {}
    store, name = executor.store, obj.name
    out: list[list[str]] = []
    for index in indexes:
        record = store.get(name, index, include_deleted=include_deleted)
        if record is None:
            continue
        found: dict[str, Record | None] = {}
        for relation in relations:
            parent_id = record.get(relation)
            if not parent_id:
                found[relation] = None
                continue
            if parent_id not in parents:
                parents[parent_id] = store.get_by_id(parent_id)
            found[relation] = parents[parent_id]
        out.append([_cell(read(record, found)) for read in readers])
    return out


def _reader(column: Column) -> Callable[[Record, dict[str, Record | None]], Any]:
    name, default = column.field.name, column.field.default
    if column.relation is None:
        return lambda record, parents: record.get(name, default)
    relation = column.relation.name

    def parent_value(record: Record, parents: dict[str, Record | None]) -> Any:
        parent = parents[relation]
        return None if parent is None else parent.get(name, default)

    return parent_value


def _cell(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if (
        kind is datetime and value.tzinfo is UTC and not value.microsecond
    ):  # a stored time: 2024-05-01T10:30:00
        return value.isoformat(timespec="seconds")[:19] + ".000+0000"  # type: ignore[no-any-return]
    return str(format_value(value))


@dataclass(slots=True)
class _Scan:
    """A job's query that looks at every record of its object in Id order (no ORDER BY but `Id`, no index or
    Id list serves it): run a slice at a time by the job's polls, keeping the matching records' numbers only."""

    obj: str
    keep: Callable[[Record], bool] | None
    include_deleted: bool
    offset: int
    limit: int | None
    pending: Iterator[int]
    matched: array[int] = field(default_factory=lambda: array("q"))

    @staticmethod
    def of(executor: Executor, query: Query, *, include_deleted: bool) -> _Scan | None:
        """The scan of a query of that shape (fields and WHERE checked as the engine checks them), else None."""
        obj = executor.object(query.sobject)
        for path in query.fields:
            executor.column(obj, path)
        order = query.order
        if order and (len(order) != 1 or order[0].path.lower() != "id" or order[0].descending):
            return None
        if _restricted(query.where):
            return None
        if executor.modstamp_scan(obj, query, include_deleted=include_deleted) is not None:
            return None
        keep = executor.predicate(obj, query.where, include_deleted=include_deleted) if query.where else None
        pending = iter(executor.store.indexes(obj.name))
        return _Scan(obj.name, keep, include_deleted, query.offset or 0, query.limit, pending)

    def advance(self, executor: Executor, seconds: float) -> bool:
        """Look at records for about `seconds`; True once the scan is over."""
        store, matched, keep = executor.store, self.matched, self.keep
        stop = None if self.limit is None else self.limit + self.offset
        fast = keep is None and store.always_exists(self.obj)
        deadline = time.perf_counter() + seconds
        while True:
            looked = 0
            for index in itertools.islice(self.pending, 1000):
                looked += 1
                if fast:
                    if not store.listed(self.obj, index, include_deleted=self.include_deleted):
                        continue
                else:
                    record = store.get(self.obj, index, include_deleted=self.include_deleted)
                    if record is None or (keep is not None and not keep(record)):
                        continue
                matched.append(index)
                if stop is not None and len(matched) >= stop:
                    return True
            if looked < 1000:
                return True
            if time.perf_counter() >= deadline:
                return False

    def rows(self) -> array[int]:
        """The job's rows, OFFSET and LIMIT applied (once `advance` has answered True)."""
        end = None if self.limit is None else self.offset + self.limit
        return self.matched[self.offset : end]


def _restricted(where: Condition | None) -> bool:
    """Whether an ANDed condition may restrict the records visited (an Id list, a lookup `IN`): the engine
    then visits those only, in one go (`Executor.execute`)."""
    conjuncts = list(where.items) if isinstance(where, BoolOp) and where.op == "AND" else [where]
    for item in conjuncts:
        if isinstance(item, InQuery | InList) and not item.negate:
            return True
        if isinstance(item, Compare) and item.op == "=" and item.path.lower() == "id":
            return True
    return False
