"""Bulk API 2.0 query jobs: create (UploadComplete), poll (InProgress, then JobComplete), read CSV results in
locator-paged chunks, abort, delete.

The query runs when the job is created, against the same SOQL engine as REST (`query` or `queryAll`): the
rows it matched then are the job's rows, and each chunk renders their values when it is read (the records
themselves are not copied, so a job over a million rows costs the emulator its row numbers only); results
are CSV with the API names (parent fields as `Account.Type`) as the header, `true`/`false` booleans, REST
date formats and empty cells for null. Chunks are `maxRecords` rows (default 50,000) and carry
`Sforce-Locator` (the next chunk's locator, or `null`) and `Sforce-NumberOfRecords`. Compound fields
(`MailingAddress`) cannot be serialised to CSV, so a job selecting one fails, as on Salesforce.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.query import format_value
from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.soql import SoqlError, parse
from crm_sandbox.salesforce.state import ApiError, SalesforceState

_JOB_KEYS = ("operation", "query", "contentType", "columnDelimiter", "lineEnding")
_DEFAULT_CHUNK = 50_000
_PUBLIC = (
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed",
    "retries", "totalProcessingTime", "errorMessage",
)  # fmt: skip


def create_job(state: SalesforceState, call: Call) -> Reply:
    """`POST jobs/query`: run the query and keep its rows for the result chunks."""
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
        indexes = state.executor.execute(parsed, include_deleted=include_deleted)
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
        "_fields": list(parsed.fields), "_rows": indexes, "_parsed": parsed, "_query": True,
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
    try:
        rows = state.executor.project(
            job["_parsed"], job["_rows"][start : start + size], include_deleted=job["operation"] == "queryAll"
        )
    except SoqlError as exc:  # a field lost its permission since the job ran
        raise ApiError(400, exc.code, exc.message) from None
    out = io.StringIO()
    writer = csv.writer(
        out, lineterminator="\n" if job["lineEnding"] == "LF" else "\r\n", quoting=csv.QUOTE_ALL
    )
    fields: list[str] = job["_fields"]
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(_path(row, path)) for path in fields])
    following = start + size
    headers = {
        "Sforce-Locator": str(following) if following < len(job["_rows"]) else "null",
        "Sforce-NumberOfRecords": str(len(rows)),
    }
    return Reply(text=out.getvalue(), media_type="text/csv", headers=headers)


def _path(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(format_value(value))
