"""Bulk API 2.0 ingest jobs for updates: create, upload CSV (201), UploadComplete, poll, result CSVs.

A job moves Open -> UploadComplete -> InProgress -> JobComplete; the records are written when the first poll
after UploadComplete finds it, so a client really has to poll. Rows go through the same validation as REST
writes (booleans as true/false, `#N/A` for null, empty cells left unchanged).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.state import ApiError, SalesforceState
from crm_sandbox.salesforce.writes import check_update

_RESULT_KINDS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}
_PUBLIC = (
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed",
    "numberRecordsFailed", "retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime",
    "errorMessage",
)  # fmt: skip


def create_job(state: SalesforceState, call: Call) -> Reply:
    """`POST jobs/ingest`: an Open job for `update` on one object."""
    spec = call.json()
    if not isinstance(spec, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "a JSON job definition is required")
    obj = state.store.spec(str(spec.get("object", "")))
    if obj is None or obj.tooling:
        raise ApiError(400, "INVALIDJOB", f"Entity '{spec.get('object')}' is not supported by the Bulk API.")
    if spec.get("operation") != "update":
        raise ApiError(400, "FEATURENOTENABLED", "the sandbox supports Bulk 2.0 ingest for 'update' only")
    if spec.get("columnDelimiter", "COMMA") != "COMMA" or spec.get("contentType", "CSV") != "CSV":
        raise ApiError(400, "FEATURENOTENABLED", "the sandbox supports comma-separated CSV only")
    now = state.store.clock().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    job_id = make_id("750", len(state.jobs) + 1)
    state.jobs[job_id] = {
        "id": job_id, "operation": "update", "object": obj.name, "createdById": state.store.user_id,
        "createdDate": now, "systemModstamp": now, "state": "Open", "concurrencyMode": "Parallel",
        "contentType": "CSV", "apiVersion": float(call.version), "jobType": "V2Ingest",
        "lineEnding": spec.get("lineEnding", "LF"), "columnDelimiter": "COMMA", "numberRecordsProcessed": 0,
        "numberRecordsFailed": 0, "retries": 0, "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
        "apexProcessingTime": 0, "errorMessage": None, "_data": "", "successful": [], "failed": [],
        "unprocessed": [], "_header": [],
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
    """`PUT jobs/ingest/{id}/batches`: the CSV data; 201 Created."""
    job = _job(state, job_id)
    if job["state"] != "Open":
        raise ApiError(400, "INVALIDJOBSTATE", "Job is not open for data upload")
    job["_data"] += call.body.decode("utf-8")
    return Reply(status=201, text="", media_type="text/plain")


def get_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`GET jobs/ingest/{id}`: job info; advances UploadComplete -> InProgress -> JobComplete."""
    job = _job(state, job_id)
    if job["state"] == "UploadComplete":
        _process(state, job)
        job["state"] = "InProgress"
    elif job["state"] == "InProgress":
        job["state"] = "JobComplete"
    return Reply(body=_public(job))


def set_state(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`PATCH jobs/ingest/{id}`: UploadComplete or Aborted."""
    job = _job(state, job_id)
    wanted = (call.json() or {}).get("state")
    if wanted == "UploadComplete" and job["state"] == "Open":
        job["state"] = "UploadComplete"
    elif wanted == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
        job["state"] = "Aborted"
    else:
        raise ApiError(
            400, "INVALIDJOBSTATE", f"Cannot change the state of a job from {job['state']} to {wanted}"
        )
    return Reply(body=_public(job))


def delete_job(state: SalesforceState, call: Call, job_id: str) -> Reply:
    """`DELETE jobs/ingest/{id}`: 204."""
    _job(state, job_id)
    del state.jobs[job_id]
    return Reply(status=204)


def list_jobs(state: SalesforceState, call: Call) -> Reply:
    """`GET jobs/ingest`: all jobs."""
    records = [_public(job) for job in state.jobs.values() if not job.get("_query")]
    return Reply(body={"done": True, "records": records, "nextRecordsUrl": None})


def results(state: SalesforceState, call: Call, job_id: str, kind: str) -> Reply:
    """`GET jobs/ingest/{id}/successfulResults|failedResults|unprocessedrecords` as CSV."""
    job = _job(state, job_id)
    key = _RESULT_KINDS.get(kind.lower())
    if key is None:
        raise not_found()
    prefix = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}[
        key
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(prefix + job["_header"])
    writer.writerows(job[key])
    return Reply(text=out.getvalue(), media_type="text/csv")


def _process(state: SalesforceState, job: dict[str, Any]) -> None:
    obj = state.store.spec(job["object"])
    assert obj is not None
    reader = csv.reader(io.StringIO(job["_data"]))
    rows = list(reader)
    if not rows:
        return
    header = rows[0]
    job["_header"] = header
    for row in rows[1:]:
        values = {name: cell for name, cell in zip(header, row, strict=False) if cell != ""}
        record_id = next((cell for name, cell in values.items() if name.lower() == "id"), "")
        index, clean, problem = check_update(state, obj, record_id, values, from_csv=True)
        if problem is None:
            state.store.update(obj.name, index, clean)
            job["successful"].append([record_id, "false", *row])
        else:
            job["failed"].append([record_id, f"{problem['statusCode']}:{problem['message']}:--", *row])
    job["numberRecordsProcessed"] = len(rows) - 1
    job["numberRecordsFailed"] = len(job["failed"])
