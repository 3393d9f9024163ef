"""Benchmark lawful-crm's sync on the sandbox: API calls against the floor the APIs allow, wall time, peak memory.

For each CRM: a full first run of N contacts, then an incremental run after 1 % of the records were edited as a
user would. The emulators run in a child process, so the peak RSS reported is the sync's own. API calls are
counted twice: by the sandbox (what the org or portal would bill) and by the adapter.

The floor is the fewest calls the APIs allow for what the run read and wrote: SOQL pages of 2,000 and
collection writes of 200 (Salesforce); search pages of 200, company batch reads and contact batch writes of 100,
and per search page one batch read of its contacts' subscription statuses, plus the subscription types once
(HubSpot). With HubSpot's limits on (190 per 10 s, the default, and 5 searches per second), the least time
those calls can take is ``floor_seconds``. ``--no-rate-limit`` switches the HubSpot emulator's limits off (for the scale runs).
Prints one JSON object. Usage: ``python benchmarks/bench_sync.py [--contacts 100000] [--crm all]``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sandbox_process import (
    HUBSPOT_LIMIT_PER_TEN_SECONDS,
    UNLIMITED,
    adapter,
    api_calls,
    base_url,
    edit_share,
    hubspot_limits,
    peak_rss_mb,
    running_sandbox,
)

from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.store import open_store
from connector.sync.run import SyncOptions, SyncResult, run_sync

SEARCH_PAGE = 200
"""HubSpot's search returns up to 200 records per call; its lists, batch reads and batch writes take 100."""
SEARCHES_PER_SECOND = 5


def floor_calls(crm: str, read: int, written: int, companies: int = 0) -> int:
    """The fewest calls the APIs allow to read `read` records (and `companies`) and write `written`."""
    if crm == "salesforce":
        return math.ceil(read / 2000) + math.ceil(written / 200)
    pages = math.ceil(read / SEARCH_PAGE)
    consent = pages + 1  # one subscription-status batch read per page, and the subscription types once
    return pages + consent + math.ceil(companies / 100) + math.ceil(written / 100)


def floor_seconds(calls: int, searches: int = 0) -> float:
    """The least wall time under HubSpot's limits: call k cannot start before ``k // 190`` rolling windows of
    10 s have passed (the first window's calls may all go at once), nor search k before ``k // 5`` seconds."""
    rolling = ((calls - 1) // HUBSPOT_LIMIT_PER_TEN_SECONDS) * 10.0 if calls > 0 else 0.0
    searching = float((searches - 1) // SEARCHES_PER_SECOND) if searches > 0 else 0.0
    return max(rolling, searching)


def sandbox_companies(crm: str, info: dict[str, Any]) -> int:
    """How many companies the HubSpot emulator holds (a full run batch-reads each contact's company once)."""
    if crm != "hubspot":
        return 0
    return int(requests.get(f"{base_url(crm, info)}/__sandbox/stats", timeout=600).json()["companies"])


def measure(
    crm: str, info: dict[str, Any], store_url: str, options: SyncOptions, *, limited: bool
) -> dict[str, Any]:
    """One lawful-crm run, as ``lawful-crm sync`` does it, with its figures."""
    port = adapter(crm, info, per_ten_seconds=HUBSPOT_LIMIT_PER_TEN_SECONDS if limited else UNLIMITED)
    mapping = CompiledMapping(load_mapping(crm))
    before = api_calls(crm, info)
    started = time.perf_counter()
    result: SyncResult = run_sync(port, mapping, PolicySettings(), open_store(store_url), options)
    seconds = time.perf_counter() - started
    calls = api_calls(crm, info) - before
    read, written = result.tally.read, result.tally.written
    figures = {
        "outcome": result.outcome.value, "records": read, "written": written, "failed": result.tally.failed,
        "api_calls": calls, "adapter_calls": result.api_calls, "seconds": round(seconds, 1),
        "records_per_second": round(read / seconds) if seconds else None, "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip
    if options.full:
        floor = floor_calls(crm, read, written, companies=sandbox_companies(crm, info))
        figures["floor_calls"] = floor
        figures["calls_vs_floor"] = round(calls / max(floor, 1), 3)
    return figures


def bench(crm: str, info: dict[str, Any], *, limited: bool, full_only: bool = False) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"sqlite:///{Path(tmp) / (crm + '.db')}"
        adapter(crm, info).install(dry_run=False, uninstall=False)
        if crm == "hubspot":
            hubspot_limits(info, per_ten_seconds=HUBSPOT_LIMIT_PER_TEN_SECONDS if limited else None)
        full = measure(crm, info, store_url, SyncOptions(full=True), limited=limited)
        if full_only:
            return {"full": full}
        edited = edit_share(crm, info, records=full["records"], today=today)
        incremental = measure(crm, info, store_url, SyncOptions(), limited=limited)
    incremental["edited"] = edited
    figures = {"full": full, "incremental": incremental,
               "incremental_calls_share_of_full": round(incremental["api_calls"] / max(full["api_calls"], 1), 4)}  # fmt: skip
    if crm == "hubspot" and limited:
        floor_s = floor_seconds(full["floor_calls"], searches=math.ceil(full["records"] / SEARCH_PAGE))
        figures["full"]["floor_seconds"] = round(floor_s, 1)
        figures["full"]["seconds_vs_floor"] = round(full["seconds"] / floor_s, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--crm", default="all", choices=["salesforce", "hubspot", "all"])
    parser.add_argument("--no-rate-limit", action="store_true", help="HubSpot emulator without rate limits")
    parser.add_argument(
        "--full-only", action="store_true", help="only the full run (no edits, no incremental)"
    )
    args = parser.parse_args()
    crms = ["salesforce", "hubspot"] if args.crm == "all" else [args.crm]
    figures: dict[str, Any] = {"tool": "lawful-crm", "contacts_per_crm": args.contacts,
                               "hubspot_rate_limit": None if args.no_rate_limit else HUBSPOT_LIMIT_PER_TEN_SECONDS}  # fmt: skip
    with running_sandbox(args.contacts) as info:
        for crm in crms:
            figures[crm] = bench(crm, info, limited=not args.no_rate_limit, full_only=args.full_only)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
