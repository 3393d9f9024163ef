"""Benchmark the Salesforce emulator alone through a Bulk API 2.0 full run: its CPU per 1,000 records.

No HTTP, no client, no sync: the emulator's request handlers in this process, called with the requests
lawful-crm's Bulk full run makes (``bench_bulk.py`` runs the real thing): per object the newest row, the newest
consent rows, the COUNT() estimate up to that row; for Contact the won-deal query job; the object's query job up to
that row in ``ORDER BY SystemModstamp, Id``, polled to completion and read in locator chunks of 10,000, each chunk
followed by a query job for the consent rows of its Individuals (selected by the chunk's keyset range); and an
update job of the connector's six fields for every 25,000 records read, polled to completion, its successful
results read. Reports the CPU seconds of each phase and the emulator's CPU milliseconds per 1,000 records.

Prints one JSON object. Usage: ``python benchmarks/bench_sandbox_bulk.py [--contacts 100000]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from crm_sandbox.salesforce import bulk, bulk_query, rest
from crm_sandbox.salesforce.rest import Call
from crm_sandbox.salesforce.server import running_salesforce
from crm_sandbox.salesforce.state import SalesforceState

CHUNK = 10_000
WRITE_JOB = 25_000
CONSENT = (
    "SELECT Id, PartyId, ContactPointType, PrivacyConsentStatus, DataUsePurpose.Name, CaptureDate, EffectiveFrom, "
    "EffectiveTo FROM ContactPointTypeConsent WHERE PartyId IN (SELECT IndividualId FROM {obj} WHERE {where})"
)
FIELDS = {
    "Contact": "Id, SystemModstamp, IsDeleted, CreatedDate, AccountId, IndividualId, Email, MailingCountry, "
    "Account.BillingCountry, Account.Name, Account.Legal_Form__c, Account.Type, LeadSource, Lead_Source_Date__c, "
    "HasOptedOutOfEmail, DoNotCall, Individual.HasOptedOutSolicit, Email_Opt_In_Date__c, Phone_Opt_In_Date__c, "
    "Phone, MobilePhone",
    "Lead": "Id, SystemModstamp, IsDeleted, CreatedDate, IndividualId, Email, Country, Company, LeadSource, "
    "Lead_Source_Date__c, HasOptedOutOfEmail, DoNotCall, Individual.HasOptedOutSolicit, Email_Opt_In_Date__c, "
    "Phone_Opt_In_Date__c, Phone, MobilePhone",
}
OWN = ("Do_Not_Cold_Call__c", "Email_Allowed__c", "Lawful_Use__c", "Lawful_Use_Reason__c", "Lawful_Use_Review__c",
       "Lawful_Use_Checked__c")  # fmt: skip
SCOPE = {"Contact": "", "Lead": "IsConverted = false AND "}


def call(params: dict[str, str] | None = None, body: Any = None, content_type: str = "") -> Call:
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return Call("GET", "59.0", params or {}, {"content-type": content_type}, data)


def literal(stamp: str) -> str:
    return stamp.replace(".000+0000", "Z")


def through(stamp: str, record_id: str) -> str:
    return (
        f"(SystemModstamp < {literal(stamp)} OR (SystemModstamp = {literal(stamp)} AND Id <= '{record_id}'))"
    )


def after(stamp: str, record_id: str) -> str:
    return (
        f"(SystemModstamp > {literal(stamp)} OR (SystemModstamp = {literal(stamp)} AND Id > '{record_id}'))"
    )


def rest_query(state: SalesforceState, soql: str) -> dict[str, Any]:
    answer: dict[str, Any] = rest.query(state, call({"q": soql}), include_deleted=True).body
    return answer


def query_job(state: SalesforceState, soql: str, *, operation: str = "queryAll") -> Iterator[list[list[str]]]:
    """The rows of one query job, a results chunk at a time (header left out)."""
    job = bulk_query.create_job(state, call(body={"operation": operation, "query": soql})).body
    while bulk_query.get_job(state, call(), job["id"]).body["state"] not in ("JobComplete", "Failed"):
        pass
    locator = ""
    while True:
        params = {"maxRecords": str(CHUNK)} | ({"locator": locator} if locator else {})
        reply = bulk_query.results(state, call(params), job["id"])
        assert reply.text is not None
        yield list(csv.reader(io.StringIO(reply.text)))[1:]
        locator = reply.headers["Sforce-Locator"]
        if locator == "null":
            return


def write_back(state: SalesforceState, obj: str, ids: list[str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Id", *OWN])
    checked = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    reason = "Call no (G3 Tw 11.7 (recht van verzet)). E-mail no (G5 GDPR 5(2), 14(2)(f)). Review needed."
    for record_id in ids:
        writer.writerow([record_id, "true", "false", "unknown", reason, "true", checked])
    job = bulk.create_job(state, call(body={"object": obj, "operation": "update", "lineEnding": "LF"})).body
    bulk.upload(state, call(body=out.getvalue().encode(), content_type="text/csv"), job["id"])
    bulk.set_state(state, call(body={"state": "UploadComplete"}), job["id"])
    while bulk.get_job(state, call(), job["id"]).body["state"] not in ("JobComplete", "Failed", "Aborted"):
        pass
    bulk.results(state, call(), job["id"], "successfulResults")


def full_run(state: SalesforceState, obj: str, cpu: dict[str, float]) -> int:
    """One object's Bulk full pull and its write-back; returns the records read."""

    def spent(phase: str, started: float) -> float:
        now = time.process_time()
        cpu[phase] += now - started
        return now

    clock = time.process_time()
    scope = SCOPE[obj]
    where = f"WHERE {scope.removesuffix(' AND ')} " if scope else ""
    [top] = rest_query(
        state, f"SELECT Id, SystemModstamp FROM {obj} {where}ORDER BY SystemModstamp DESC, Id DESC LIMIT 1"
    )["records"]
    rest_query(
        state,
        "SELECT Id, SystemModstamp FROM ContactPointTypeConsent ORDER BY SystemModstamp DESC, Id DESC LIMIT 200",
    )
    horizon = through(top["SystemModstamp"], top["Id"])
    rest_query(state, f"SELECT COUNT() FROM {obj} WHERE {scope}{horizon}")
    clock = spent("newest, consent mark, count", clock)
    if obj == "Contact":
        for _ in query_job(
            state, "SELECT AccountId, CloseDate FROM Opportunity WHERE IsWon = true", operation="query"
        ):
            pass
        clock = spent("won deals job", clock)
    read, pending, previous = 0, [], None
    statement = f"SELECT {FIELDS[obj]} FROM {obj} WHERE {scope}{horizon} ORDER BY SystemModstamp, Id"
    chunks = query_job(state, statement)
    while True:
        chunk = next(chunks, None)
        clock = spent("pull job and chunks", clock)
        if chunk is None:
            break
        last = (chunk[-1][1], chunk[-1][0])
        keyset = " AND ".join([*([after(*previous)] if previous else []), through(*last)])
        for _ in query_job(state, CONSENT.format(obj=obj, where=f"{scope}{keyset}"), operation="query"):
            pass
        clock = spent("consent job per chunk", clock)
        previous, read = last, read + len(chunk)
        pending += [row[0] for row in chunk]
        while len(pending) >= WRITE_JOB:
            write_back(state, obj, pending[:WRITE_JOB])
            pending = pending[WRITE_JOB:]
            clock = spent("update jobs", clock)
    if pending:
        write_back(state, obj, pending)
        spent("update jobs", clock)
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    with running_salesforce(contacts=args.contacts, connector_fields=True, daily_limit=10_000_000) as sandbox:
        cpu: dict[str, float] = defaultdict(float)
        started, wall = time.process_time(), time.perf_counter()
        records = sum(full_run(sandbox.state, obj, cpu) for obj in ("Contact", "Lead"))
        total, seconds = time.process_time() - started, time.perf_counter() - wall
    figures = {
        "tool": "lawful-crm",
        "contacts": args.contacts,
        "records": records,
        "emulator_cpu_s": round(total, 1),
        "emulator_cpu_ms_per_1000_records": round(total / records * 1e6, 1) if records else None,
        "seconds": round(seconds, 1),
        "cpu_s_by_phase": {phase: round(value, 2) for phase, value in cpu.items()},
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
