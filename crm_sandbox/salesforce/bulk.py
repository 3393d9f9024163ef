"""Bulk API 2.0 ingest jobs for updates: create, upload CSV (201), UploadComplete, poll, result CSVs, abort.

A job moves Open -> UploadComplete -> InProgress -> JobComplete (or Failed, or Aborted by the client); its rows
are written when the first poll after UploadComplete finds it, so a client really has to poll, and a job
aborted before that writes nothing (every row is then in `unprocessedrecords`). One upload per job, as on
Salesforce. The data must match the job's `lineEnding`, its header must name `Id` and only fields the user can
see (else the whole job fails with Salesforce's `InvalidBatch` / `ClientInputError` message). Each row goes
through the same validation as a REST write (FLS, types, org rules, triggers, faults): booleans as
true/false, `#N/A` for null, an empty cell leaves the field unchanged. A written row moves SystemModstamp and
fires the org's Outbound Messages like any update. Results echo the uploaded row after `sf__Id` and
`sf__Created` (successful) or `sf__Id` and `sf__Error` (`CODE:message:fields`, failed).

Every request counts against the daily API limit like any other; a job also spends one of the daily Bulk
batches per 10,000 rows (`DailyBulkApiBatches` in `/limits`).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from crm_sandbox.salesforce.ids import make_id, normalize_id
from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.state import ApiError, SalesforceState
from crm_sandbox.salesforce.writes import Columns, check_update

MAX_UPLOAD_BYTES = 150 * 1024 * 1024
"""The largest upload Salesforce takes for one job (150 MB; 100 MB before base64 is the advice)."""
ROWS_PER_BATCH = 10_000
"""Salesforce splits an ingest job into internal batches of this many rows; each spends a daily batch."""
BATCHES = "bulk batches"
"""The counter of Bulk batches spent (`state.counters`), shown as `DailyBulkApiBatches` in `/limits`."""
_JOB_KEYS = frozenset(
    {"object", "operation", "contentType", "columnDelimiter", "lineEnding", "externalIdFieldName",
     "assignmentRuleId"}
)  # fmt: skip
_RESULT_KINDS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}
_TERMINAL = ("JobComplete", "Failed", "Aborted")
_SECURITY_OBJECTS = frozenset({"fieldpermissions", "permissionsetassignment"})
_PUBLIC = (
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed",
    "numberRecordsFailed", "retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime",
    "errorMessage",
)  # fmt: skip


def _now(state: SalesforceState) -> str:
    return state.store.clock().strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def create_job(state: SalesforceState, call: Call) -> Reply:
    """`POST jobs/ingest`: an Open job for `update` on one object."""
    spec = call.json()
    if not isinstance(spec, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "a JSON job definition is required")
    for key in spec:
        if key not in _JOB_KEYS:
            raise ApiError(400, "JSON_PARSER_ERROR", f'Unrecognized field "{key}" at [line:1, column:2]')
    obj = state.store.spec(str(spec.get("object", "")))
    if obj is None or obj.tooling:
        raise ApiError(400, "INVALIDJOB", f"Entity '{spec.get('object')}' is not supported by the Bulk API.")
    if spec.get("operation") not in ("insert", "update", "upsert", "delete", "hardDelete"):
        raise ApiError(400, "INVALIDJOB", f"Invalid operation: {spec.get('operation')}")
    if spec.get("operation") != "update":
        raise ApiError(400, "FEATURENOTENABLED", "the sandbox supports Bulk 2.0 ingest for 'update' only")
    if spec.get("columnDelimiter", "COMMA") != "COMMA" or spec.get("contentType", "CSV") != "CSV":
        raise ApiError(400, "FEATURENOTENABLED", "the sandbox supports comma-separated CSV only")
    line_ending = spec.get("lineEnding", "LF")
    if line_ending not in ("LF", "CRLF"):
        raise ApiError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
    now = _now(state)
    job_id = make_id("750", len(state.jobs) + 1)
    state.jobs[job_id] = {
        "id": job_id, "operation": "update", "object": obj.name, "createdById": state.store.user_id,
        "createdDate": now, "systemModstamp": now, "state": "Open", "concurrencyMode": "Parallel",
        "contentType": "CSV", "apiVersion": float(call.version), "jobType": "V2Ingest",
        "lineEnding": line_ending, "columnDelimiter": "COMMA", "numberRecordsProcessed": 0,
        "numberRecordsFailed": 0, "retries": 0, "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
        "apexProcessingTime": 0, "errorMessage": None, "_data": None, "_header": [], "_rows": [],
        "_outcomes": [],
    }  # fmt: skip
    return Reply(body=_public(state.jobs[job_id]))


def _job(state: SalesforceState, job_id: str) -> dict[str, Any]:
    job = state.jobs.get(job_id)
    if job is None or job.get("_query"):
        raise not_found()
    return job


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {key: job[key] for key in _PUBLIC}


def upload(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`PUT jobs/ingest/{id}/batches`: the CSV data, once per job; 201 Created."""
    job = _job(state, job_id)
    if job["state"] != "Open":
        raise ApiError(400, "INVALIDJOBSTATE", "Job is not open for data upload")
    if job["_data"] is not None:
        raise ApiError(
            400, "BULK_API_ERROR",
            f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / 'Delete' the current Job "
            "then create a new Job and make sure the 'Content-Type' is correct",
        )  # fmt: skip
    if len(call.body) > MAX_UPLOAD_BYTES:
        raise ApiError(400, "EXCEEDED_QUOTA", "The upload exceeds the maximum size of 150 MB for one job")
    if not call.headers.get("content-type", "").lower().startswith("text/csv"):
        raise ApiError(400, "INVALIDCONTENTTYPE", "The Content-Type of the upload must be text/csv")
    job["_data"] = call.body.decode("utf-8")
    return Reply(status=201, text="", media_type="text/plain")


def get_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`GET jobs/ingest/{id}`: job info; advances UploadComplete -> InProgress (rows written) -> JobComplete."""
    job = _job(state, job_id)
    if job["state"] == "UploadComplete":
        _process(state, job)
        if job["state"] == "UploadComplete":
            job["state"] = "InProgress"
    elif job["state"] == "InProgress":
        job["state"] = "JobComplete"
    job["systemModstamp"] = _now(state)
    return Reply(body=_public(job))


def set_state(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`PATCH jobs/ingest/{id}`: UploadComplete (from Open) or Aborted (before the job ends)."""
    job = _job(state, job_id)
    wanted = (call.json() or {}).get("state")
    if wanted == "UploadComplete" and job["state"] == "Open":
        job["state"] = "UploadComplete"
        if job["_data"] is None:
            job["state"], job["errorMessage"] = "Failed", "InvalidBatch : No data was uploaded for this job"
    elif wanted == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
        job["state"] = "Aborted"
        if job["_data"] is not None:  # never processed: every uploaded row is unprocessed
            try:
                parsed = list(csv.reader(io.StringIO(job["_data"], newline="")))
            except csv.Error:
                parsed = []
            job["_header"], job["_rows"], job["_data"] = (
                (parsed[0], parsed[1:], None) if parsed else ([], [], None)
            )
    else:
        raise ApiError(
            400, "INVALIDJOBSTATE", f"Cannot change the state of a job from {job['state']} to {wanted}"
        )
    job["systemModstamp"] = _now(state)
    return Reply(body=_public(job))


def delete_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`DELETE jobs/ingest/{id}`: 204; only a job that has ended (or was aborted) can be deleted."""
    job = _job(state, job_id)
    if job["state"] not in (*_TERMINAL, "Open"):
        raise ApiError(400, "INVALIDJOBSTATE", f"Cannot delete a job in state {job['state']}")
    del state.jobs[job_id]
    return Reply(status=204)


def list_jobs(state: SalesforceState, call: Call) -> Reply:
    """`GET jobs/ingest`: all ingest jobs, oldest first."""
    records = [_public(job) for job in state.jobs.values() if not job.get("_query")]
    return Reply(body={"done": True, "records": records, "nextRecordsUrl": None})


def results(state: SalesforceState, call: Call, job_id: str, kind: str) -> Reply:
    """`GET jobs/ingest/{id}/successfulResults|failedResults|unprocessedrecords` as CSV."""
    job = _job(state, job_id)
    key = _RESULT_KINDS.get(kind.lower())
    if key is None:
        raise not_found()
    if job["state"] not in _TERMINAL:
        raise ApiError(400, "INVALIDJOBSTATE", f"Results are not available while the job is {job['state']}")
    prefix = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(prefix[key] + job["_header"])
    outcomes: list[tuple[str, str] | None] = job["_outcomes"]
    for index, row in enumerate(job["_rows"]):
        outcome = outcomes[index] if index < len(outcomes) else None
        if outcome is None:
            if key == "unprocessed":
                writer.writerow(row)
        elif key == "successful" and outcome[1] == "":
            writer.writerow([outcome[0], "false", *row])
        elif key == "failed" and outcome[1] != "":
            writer.writerow([outcome[0], outcome[1], *row])
    return Reply(text=out.getvalue(), media_type="text/csv")


def _fail(job: dict[str, Any], message: str) -> None:
    job["state"], job["errorMessage"], job["_data"] = "Failed", message, None


def _process(state: SalesforceState, job: dict[str, Any]) -> None:
    """Parse the upload and write its rows (all of them, at once); a malformed upload fails the job."""
    obj = state.store.spec(job["object"])
    assert obj is not None
    data: str = job["_data"] or ""
    if job["lineEnding"] == "LF" and "\r\n" in data:
        _fail(job, "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF")
        return
    try:
        rows = list(csv.reader(io.StringIO(data, newline=""), strict=True))
    except csv.Error as exc:
        _fail(job, f"InvalidBatch : Failed to parse CSV: {exc}")
        return
    if not rows or not rows[0]:
        _fail(job, "InvalidBatch : The CSV file is empty")
        return
    header = rows[0]
    for name in header:
        spec = obj.field(name)
        if spec is None or (not state.store.visible(obj, spec) and not spec.fls_managed):
            _fail(job, f"InvalidBatch : Field name not found : {name}")
            return
    if not any(name.lower() == "id" for name in header):
        _fail(job, "InvalidBatch : Field name not found : Id")
        return
    job["_header"], job["_rows"], job["_data"] = header, rows[1:], None
    state.counters[BATCHES] += max(1, math.ceil((len(rows) - 1) / ROWS_PER_BATCH))
    outcomes: list[tuple[str, str] | None] = []
    # a row can change field-level security only by writing its records: resolve the header once otherwise
    columns: Columns | None = None if obj.name.lower() in _SECURITY_OBJECTS else {}
    for row in job["_rows"]:
        if len(row) != len(header):
            outcomes.append(("", "INVALID_FIELD:Incorrect number of columns in the row:--"))
            continue
        values = {name: cell for name, cell in zip(header, row, strict=True) if cell != ""}
        record_id = next((cell for name, cell in values.items() if name.lower() == "id"), "")
        index, clean, problem = check_update(state, obj, record_id, values, from_csv=True, columns=columns)
        full_id = normalize_id(record_id) or ""
        if problem is None:
            state.store.update(obj.name, index, clean)
            outcomes.append((full_id, ""))
        else:
            fields = ",".join(problem["fields"]) or "--"
            outcomes.append((full_id, f"{problem['statusCode']}:{problem['message']}:{fields}"))
    job["_outcomes"] = outcomes
    job["numberRecordsProcessed"] = len(outcomes)
    job["numberRecordsFailed"] = sum(1 for outcome in outcomes if outcome is not None and outcome[1] != "")
