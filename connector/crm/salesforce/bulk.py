"""Bulk API 2.0 requests on a simple-salesforce client: query jobs read by locator, update jobs uploaded as CSV.

Each function is one HTTP request through the client's session (so the quota meter and the loopback route see
it) and simple-salesforce's `call_salesforce`, whose errors `Connection` translates like any other call.
`wait` polls a job until it ends: at once, then every `poll_s` seconds (growing to it from 0.1 s). A query job's
results are read a chunk at a time (`maxRecords` rows and the `Sforce-Locator` of the next chunk), never whole.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.util import call_salesforce

from connector.errors import CrmContractError

__all__ = [
    "ENDED",
    "BulkMeter",
    "abort",
    "close",
    "create_query",
    "create_update",
    "ingest_jobs",
    "ingest_results",
    "job_info",
    "query_chunk",
    "upload",
    "wait",
]

T = TypeVar("T")
log = logging.getLogger("lawful_crm.salesforce")
ENDED = frozenset({"JobComplete", "Failed", "Aborted"})
_JSON = "application/json"
_CSV = "text/csv; charset=UTF-8"


class BulkMeter:
    """Counts Bulk API 2.0 requests apart from the REST calls (every one is also among the meter's calls, since
    Salesforce counts each against the daily limit), and remembers each transfer's choice for the summary."""

    def __init__(self) -> None:
        self.calls = self.jobs = self.polls = self.pulls = 0
        self.transfers: list[str] = []
        self._lock = threading.Lock()

    def counted(self, kind: str, operation: Callable[[Salesforce], T]) -> Callable[[Salesforce], T]:
        """`operation`, counted each time it is sent (retries too) as a `job`, a `poll` or another bulk call."""

        def send(client: Salesforce) -> T:
            with self._lock:
                self.calls += 1
                self.jobs += kind == "job"
                self.polls += kind == "poll"
            return operation(client)

        return send

    def note(self, transfer: str) -> None:
        """Remember why a transfer went by REST or by Bulk (no personal data) and log it."""
        log.info("%s", transfer)
        with self._lock:
            self.transfers.append(transfer)


def _url(client: Salesforce, kind: str, *parts: str) -> str:
    return f"{client.bulk2_url}{kind}" + "".join(f"/{part}" for part in parts)


def _headers(client: Salesforce, *, send: str = _JSON, accept: str = _JSON) -> dict[str, str]:
    return {**client.headers, "Content-Type": send, "Accept": accept}


def _json(client: Salesforce, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body)
    answer = call_salesforce(url, method, client.session, _headers(client), data=data).json()
    if not isinstance(answer, dict):
        raise CrmContractError("Salesforce answered a Bulk API 2.0 request with an unexpected shape")
    return answer


def create_query(client: Salesforce, *, statement: str, include_deleted: bool) -> str:
    """A query job (`queryAll` with deleted rows); returns its id."""
    operation = "queryAll" if include_deleted else "query"
    body = {"operation": operation, "query": statement, "contentType": "CSV", "lineEnding": "LF"}
    return str(_json(client, "POST", _url(client, "query"), body)["id"])


def create_update(client: Salesforce, *, object_type: str) -> str:
    """An Open update job for one object; returns its id."""
    body = {"object": object_type, "operation": "update", "contentType": "CSV", "lineEnding": "LF"}
    return str(_json(client, "POST", _url(client, "ingest"), body)["id"])


def job_info(client: Salesforce, *, kind: str, job_id: str) -> dict[str, Any]:
    """A job's info (`state`, `numberRecordsProcessed`, `errorMessage`, …); `kind` is `query` or `ingest`."""
    return _json(client, "GET", _url(client, kind, job_id))


def upload(client: Salesforce, *, job_id: str, data: bytes) -> None:
    """The job's CSV data (one upload per job)."""
    url = _url(client, "ingest", job_id, "batches")
    call_salesforce(url, "PUT", client.session, _headers(client, send=_CSV), data=data)


def close(client: Salesforce, *, job_id: str) -> None:
    """Mark the upload complete: Salesforce queues the job."""
    _json(client, "PATCH", _url(client, "ingest", job_id), {"state": "UploadComplete"})


def abort(client: Salesforce, *, kind: str, job_id: str) -> None:
    """Abort a job that has not ended."""
    _json(client, "PATCH", _url(client, kind, job_id), {"state": "Aborted"})


def ingest_results(client: Salesforce, *, job_id: str, which: str) -> str:
    """`successfulResults`, `failedResults` or `unprocessedrecords` of an ended job, as CSV text."""
    url = _url(client, "ingest", job_id, which)
    return call_salesforce(url, "GET", client.session, _headers(client, accept=_CSV)).text


def ingest_jobs(client: Salesforce) -> list[dict[str, Any]]:
    """Every ingest job the org lists (following `nextRecordsUrl`)."""
    found: list[dict[str, Any]] = []
    url: str | None = _url(client, "ingest")
    while url:
        page = _json(client, "GET", url)
        found += [job for job in page.get("records") or [] if isinstance(job, dict)]
        following = page.get("nextRecordsUrl")
        url = f"https://{client.sf_instance}{following}" if isinstance(following, str) and following else None
    return found


def query_chunk(client: Salesforce, *, job_id: str, locator: str, max_records: int) -> tuple[str, str]:
    """One chunk of a query job's results: (CSV text, locator of the next chunk or "" after the last)."""
    params: dict[str, str | int] = {"maxRecords": max_records}
    if locator:
        params["locator"] = locator
    url = _url(client, "query", job_id, "results")
    answer = call_salesforce(url, "GET", client.session, _headers(client, accept=_CSV), params=params)
    following = answer.headers.get("Sforce-Locator", "")
    return answer.content.decode("utf-8"), "" if following in ("", "null") else following


def wait(
    info: Callable[[], dict[str, Any]], *, poll_s: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Poll with `info` until the job has ended; returns its last info. Polls at once, then backs off to
    `poll_s` seconds between polls."""
    pause = min(0.1, poll_s)
    while True:
        current = info()
        if current.get("state") in ENDED:
            return current
        sleep(pause)
        pause = min(poll_s, pause * 2 if pause else 0.0)
