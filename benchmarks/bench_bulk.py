"""Benchmark a Salesforce full run with Bulk API 2.0 on: REST calls, Bulk jobs and polls, records/s, peak memory.

The emulators run in a child process (so the peak RSS is the sync's own). The adapter is configured as an admin
would for a large org: ``bulk_threshold`` (10,000 by default) sends the full pull of each object above it through
one Bulk query job, and the write-back goes through Bulk update jobs once the run's changes pass
``bulk_write_threshold`` (2,000 by default) or a pull went in bulk. Calls are
counted by the org (`api_used`: every request, Bulk ones too, as Salesforce counts them against the daily limit)
and by the adapter, which tells the REST calls from the Bulk jobs, their polls and their other requests.

With ``--incremental`` a salesperson then edits 1 % of the records and an ordinary run follows (its calls as a
share of the full run's); the store's bytes per record are measured at the end (SQLite's ``dbstat``, as
``bench_audit_size.py`` does).

Prints one JSON object. Usage:
``python benchmarks/bench_bulk.py [--contacts 100000] [--threshold 10000] [--write-threshold 2000] [--incremental]``.
``cpu_calibration_s`` is the machine's time for a fixed Python loop, to set figures from different machines apart.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_audit_size import measure_file
from pydantic import SecretStr
from sandbox_process import (
    api_calls,
    cpu_calibration_s,
    edit_share,
    peak_rss_mb,
    running_sandbox,
    salesforce_daily_limit,
)

from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import open_store
from connector.sync.run import SyncOptions, run_sync

WRITE_THRESHOLD: int = SalesforceConfig.model_fields["bulk_write_threshold"].default
"""The setting's own default: the write-back as an admin who leaves it alone gets it."""


def bulk_adapter(
    info: dict[str, Any], *, threshold: int, poll_s: int, write_threshold: int = WRITE_THRESHOLD
) -> SalesforceCrm:
    sf = info["salesforce"]
    config = SalesforceConfig(
        auth="session", instance_url=sf["instance_url"], session_id=SecretStr(sf["token"]),
        bulk_threshold=threshold, bulk_write_threshold=write_threshold, bulk_poll_s=poll_s, timeout_s=300,
    )  # fmt: skip
    return SalesforceCrm.from_config(config, load_mapping("salesforce"))


def one_run(info: dict[str, Any], store_url: str, *, full: bool, **config: int) -> dict[str, Any]:
    """One run as ``lawful-crm sync`` (``--full`` or not) does it, with its figures; `config`: bulk_adapter's."""
    crm = bulk_adapter(info, **config)
    if full:
        crm.install(dry_run=False, uninstall=False)
    before = api_calls("salesforce", info)
    started = time.perf_counter()
    result = run_sync(
        crm,
        CompiledMapping(load_mapping("salesforce")),
        PolicySettings(),
        open_store(store_url),
        SyncOptions(full=full),
    )
    seconds = time.perf_counter() - started
    read = result.tally.read
    return {
        "outcome": result.outcome.value,
        "records": read,
        "written": result.tally.written,
        "failed": result.tally.failed,
        "org_api_requests": api_calls("salesforce", info) - before,
        "rest_calls": result.api_calls - result.bulk_calls,
        "bulk_calls": result.bulk_calls,
        "bulk_jobs": result.bulk_jobs,
        "bulk_polls": result.bulk_polls,
        "transfers": result.transfers,
        "seconds": round(seconds, 1),
        "records_per_second": round(read / seconds) if seconds else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--threshold", type=int, default=10_000, help="[salesforce] bulk_threshold")
    parser.add_argument(
        "--write-threshold", type=int, default=WRITE_THRESHOLD, help="[salesforce] bulk_write_threshold"
    )
    parser.add_argument("--poll-s", type=int, default=1, help="[salesforce] bulk_poll_s")
    parser.add_argument("--incremental", action="store_true", help="then edit 1 %% and run an ordinary sync")
    args = parser.parse_args()
    with running_sandbox(args.contacts) as info, tempfile.TemporaryDirectory() as tmp:
        salesforce_daily_limit(info, 1_000_000)
        store = Path(tmp) / "store.db"
        config = {"threshold": args.threshold, "write_threshold": args.write_threshold, "poll_s": args.poll_s}
        full = one_run(info, f"sqlite:///{store}", full=True, **config)
        figures: dict[str, Any] = {
            "tool": "lawful-crm",
            "contacts": args.contacts,
            "cpu_calibration_s": cpu_calibration_s(),
            "bulk_threshold": args.threshold,
            "bulk_write_threshold": args.write_threshold,
            "bulk_poll_s": args.poll_s,
            "salesforce_full_bulk": full,
        }
        if args.incremental:
            today = datetime.now(UTC).date()
            edited = edit_share("salesforce", info, records=full["records"], today=today)
            incremental = one_run(info, f"sqlite:///{store}", full=False, **config)
            incremental["edited"] = edited
            figures["salesforce_incremental"] = incremental
            figures["incremental_calls_share_of_full"] = round(
                incremental["org_api_requests"] / max(full["org_api_requests"], 1), 4
            )
        size = measure_file(store)
        figures["store_bytes_per_record"] = size["bytes_per_record"]
        figures["store_records"] = size["records"]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
