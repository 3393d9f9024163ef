"""Benchmark the sync on the sandbox: API calls against the floor the APIs allow, wall time, peak memory.

For each CRM: a full first run of N contacts, then an incremental run after 1 % of them were edited as a user
would. The emulators run in a child process (``lawful-crm sandbox``), so the peak RSS reported is the sync's own.
Edits go through the sandbox's admin API. Prints one JSON object.
Usage: ``python benchmarks/bench_sync.py [--contacts 100000] [--crm salesforce|hubspot|all]``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from connector.crm.port import CrmPort
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig, SalesforceConfig
from connector.store import open_store
from connector.sync.run import SyncOptions, SyncResult, run_sync


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_sandbox(contacts: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--contacts", str(contacts), "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def adapter(crm: str, info: dict[str, Any]) -> CrmPort:
    if crm == "salesforce":
        from connector.crm.salesforce import SalesforceCrm

        sf = info["salesforce"]
        config = SalesforceConfig(
            auth="session", instance_url=sf["instance_url"], session_id=SecretStr(sf["token"])
        )
        return SalesforceCrm.from_config(config, load_mapping("salesforce"))
    from connector.crm.hubspot import HubSpotCrm

    hs = info["hubspot"]
    config = HubSpotConfig(base_url=hs["base_url"], access_token=SecretStr(hs["token"]), per_ten_seconds=190)
    return HubSpotCrm.from_config(config, load_mapping("hubspot"))


def edit_one_percent(crm: str, info: dict[str, Any], result: SyncResult) -> int:
    """Edit 1 % of the records as a salesperson would, through the sandbox's admin API."""
    count = max(1, result.tally.read // 100)
    base = info[crm]["instance_url" if crm == "salesforce" else "base_url"]
    body = {"count": count, "seed": 5, "today": date.today().isoformat()}
    response = requests.post(f"{base}/__sandbox/user-edits", json=body, timeout=120)
    response.raise_for_status()
    return int(response.json()["edited"])


def floor_calls(crm: str, result: SyncResult, companies: int = 0) -> int:
    """The fewest calls the APIs allow for what the run read and wrote (pages of 2,000 / 100, batches)."""
    if crm == "salesforce":
        return math.ceil(result.tally.read / 2000) + math.ceil(result.tally.written / 200)
    return (
        math.ceil(result.tally.read / 100)
        + math.ceil(companies / 100)
        + math.ceil(result.tally.written / 100)
    )


def measure(crm: str, info: dict[str, Any], store_url: str, options: SyncOptions) -> tuple[SyncResult, float]:
    port = adapter(crm, info)
    started = time.perf_counter()
    result = run_sync(
        port, CompiledMapping(load_mapping(crm)), PolicySettings(), open_store(store_url), options
    )
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--crm", default="all", choices=["salesforce", "hubspot", "all"])
    args = parser.parse_args()
    crms = ["salesforce", "hubspot"] if args.crm == "all" else [args.crm]
    process, info = start_sandbox(args.contacts)
    figures: dict[str, Any] = {"contacts_per_crm": args.contacts}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for crm in crms:
                store_url = f"sqlite:///{Path(tmp) / (crm + '.db')}"
                adapter(crm, info).install(dry_run=False, uninstall=False)
                full, full_s = measure(crm, info, store_url, SyncOptions(full=True))
                edited = edit_one_percent(crm, info, full)
                incremental, inc_s = measure(crm, info, store_url, SyncOptions())
                figures[crm] = {
                    "full": {"records": full.tally.read, "written": full.tally.written, "api_calls": full.api_calls,
                             "floor_calls": floor_calls(crm, full), "seconds": round(full_s, 1)},
                    "incremental": {"edited": edited, "records": incremental.tally.read,
                                    "written": incremental.tally.written, "api_calls": incremental.api_calls,
                                    "outcome": incremental.outcome.value, "message": incremental.message,
                                    "seconds": round(inc_s, 1)},
                    "incremental_calls_share_of_full": round(incremental.api_calls / max(full.api_calls, 1), 4),
                }  # fmt: skip
                figures[crm]["full"]["calls_vs_floor"] = round(
                    full.api_calls / max(figures[crm]["full"]["floor_calls"], 1), 3
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
