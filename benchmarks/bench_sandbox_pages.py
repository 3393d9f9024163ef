"""Benchmark the Salesforce emulator alone: the time of each page of a full REST pull as its write-back grows.

No HTTP, no sync, no store: the emulator's Store and SOQL executor in this process, with N contacts. The pull
asks what lawful-crm's reader asks (keyset pages of 2,000 in ``ORDER BY SystemModstamp, Id`` up to the newest row
when it began), and after each page its records are written, as the write-back does (each write moves the record
past that row). Reports the seconds of the page query at every ``--every``-th page, so that the emulator's share of
a slowdown at a million records is measured apart from the store's (``bench_store_inserts.py``).
Prints one JSON object. Usage: ``python benchmarks/bench_sandbox_pages.py [--contacts 1000000] [--pages 300]``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from crm_sandbox.salesforce.query import Executor
from crm_sandbox.salesforce.soql import parse
from crm_sandbox.salesforce.store import Store

PAGE = 2_000


def literal(row: dict[str, Any]) -> str:
    return str(row["SystemModstamp"]).replace(".000+0000", "Z")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    store = Store(seed=1, contacts=args.contacts, leads=0)
    executor = Executor(store)
    started = time.perf_counter()
    newest = parse("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp DESC, Id DESC LIMIT 1")
    [top] = executor.project(newest, executor.execute(newest, include_deleted=True), include_deleted=True)
    figures: dict[str, Any] = {
        "contacts": args.contacts,
        "index_build_s": round(time.perf_counter() - started, 1),
    }
    stamp, last_id = literal(top), top["Id"]
    until = f"(SystemModstamp < {stamp} OR (SystemModstamp = {stamp} AND Id <= '{last_id}'))"
    after = ""
    seconds: dict[str, float] = {}
    for number in range(1, args.pages + 1):
        where = " AND ".join(part for part in (after, until) if part)
        query = parse(
            f"SELECT Id, SystemModstamp FROM Contact WHERE {where} ORDER BY SystemModstamp, Id LIMIT {PAGE}"
        )
        started = time.perf_counter()
        rows = executor.project(query, executor.execute(query, include_deleted=True), include_deleted=True)
        spent = time.perf_counter() - started
        if number == 1 or number % args.every == 0:
            seconds[str(number)] = round(spent, 3)
        if len(rows) < PAGE:
            break
        for row in rows:  # the write-back: every record of the page written once
            located = store.locate(row["Id"])
            assert located is not None
            store.update("Contact", located[1], {"DoNotCall": True})
        stamp, last = literal(rows[-1]), rows[-1]["Id"]
        after = f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{last}'))"
    figures["page_query_seconds"] = seconds
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
