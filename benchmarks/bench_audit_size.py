"""Benchmark the store's size: bytes per record of each table and index after syncs on the sandbox.

For each CRM: a full first run of N contacts into one SQLite store, then (unless ``--full-only``) an incremental
run after 1 % of the records were edited, with their API calls (the sandbox's count) and wall time, as in
``bench_sync.py`` (emulators in a child process, the real SDKs,
HubSpot's rate limits off). The store's pages are then counted with SQLite's ``dbstat`` table: the file's bytes,
and the bytes of each table and index, each also divided by the records the store keeps a state for (one per
CRM record it decided). With ``--store FILE`` an existing SQLite store is measured and nothing is synced.
Prints one JSON object. Usage: ``python benchmarks/bench_audit_size.py [--contacts 10000] [--crm all]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sandbox_process import (
    UNLIMITED,
    adapter,
    api_calls,
    edit_share,
    hubspot_limits,
    peak_rss_mb,
    running_sandbox,
)

from connector.crm.port import CrmPort
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.mapping.schema import MappingFile
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig, SalesforceConfig
from connector.store import open_store
from connector.sync.run import SyncOptions, run_sync


def measure_file(path: Path) -> dict[str, Any]:
    """The file's bytes and the bytes of each table and index (dbstat), per record decided."""
    with sqlite3.connect(path) as db:
        records = db.execute("SELECT count(*) FROM record_states").fetchone()[0]
        entries = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        rows = db.execute(
            "SELECT d.name, m.type, sum(d.pgsize), sum(d.payload) FROM dbstat AS d "
            "LEFT JOIN sqlite_master AS m ON m.name = d.name GROUP BY d.name ORDER BY sum(d.pgsize) DESC"
        ).fetchall()
    per = max(records, 1)
    objects = {
        name: {"type": kind or "table", "bytes": size, "payload_bytes": payload,
               "bytes_per_record": round(size / per, 1)}
        for name, kind, size, payload in rows
        if size >= page_size * 2
    }  # fmt: skip
    return {
        "records": records,
        "audit_entries": entries,
        "db_bytes": page_size * pages,
        "free_bytes": page_size * free,
        "bytes_per_record": round(page_size * (pages - free) / per, 1),
        "objects": objects,
    }


def mapping_for(crm: str, *, consents: bool) -> MappingFile:
    """The shipped mapping; without ``consents``, without its subscription and data-use-purpose tables (no
    consent reads, as the runs measured before those reads existed)."""
    mapping = load_mapping(crm)
    return mapping if consents else mapping.model_copy(update={"subscriptions": {}, "data_use_purposes": {}})


def port_for(crm: str, info: dict[str, Any], mapping: MappingFile, *, rest: bool) -> CrmPort:
    """lawful-crm's adapter for one emulator; with ``rest``, Salesforce's Bulk threshold above the org's size."""
    if crm == "salesforce":
        from connector.crm.salesforce import SalesforceCrm

        sf = info["salesforce"]
        config = SalesforceConfig(
            auth="session", instance_url=sf["instance_url"], session_id=SecretStr(sf["token"]),
            bulk_threshold=10**9 if rest else 10_000,
        )  # fmt: skip
        return SalesforceCrm.from_config(config, mapping)
    from connector.crm.hubspot import HubSpotCrm

    hs = info["hubspot"]
    hs_config = HubSpotConfig(
        base_url=hs["base_url"], access_token=SecretStr(hs["token"]), per_ten_seconds=UNLIMITED,
        search_per_second=UNLIMITED,
    )  # fmt: skip
    return HubSpotCrm.from_config(hs_config, mapping)


def sync_into(
    store_url: str, crm: str, info: dict[str, Any], *, full: bool, rest: bool, consents: bool
) -> dict[str, Any]:
    mapping = mapping_for(crm, consents=consents)
    port = port_for(crm, info, mapping, rest=rest)
    before = api_calls(crm, info)
    started = time.perf_counter()
    result = run_sync(
        port,
        CompiledMapping(mapping),
        PolicySettings(),
        open_store(store_url),
        SyncOptions(full=full),
    )
    seconds = time.perf_counter() - started
    return {"outcome": result.outcome.value, "message": result.message, "records": result.tally.read,
            "written": result.tally.written, "api_calls": api_calls(crm, info) - before,
            "adapter_calls": result.api_calls, "seconds": round(seconds, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--crm", default="all", choices=["salesforce", "hubspot", "all"])
    parser.add_argument(
        "--full-only", action="store_true", help="only the full run (no edits, no incremental)"
    )
    parser.add_argument("--store", type=Path, help="measure this SQLite store file instead of syncing")
    parser.add_argument("--keep", type=Path, help="keep the store built at this path")
    parser.add_argument("--rest", action="store_true", help="Salesforce over REST only (no Bulk API 2.0)")
    parser.add_argument("--no-consents", action="store_true", help="mappings without consent reads")
    args = parser.parse_args()
    if args.store is not None:
        print(json.dumps({"store": str(args.store), **measure_file(args.store)}, indent=2))
        return
    crms = ["salesforce", "hubspot"] if args.crm == "all" else [args.crm]
    figures: dict[str, Any] = {
        "contacts_per_crm": args.contacts,
        "crms": crms,
        "salesforce_rest_only": args.rest,
        "consent_reads": not args.no_consents,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "store.db"
        store_url = f"sqlite:///{path}"
        with running_sandbox(args.contacts) as info:
            for crm in crms:
                adapter(crm, info).install(dry_run=False, uninstall=False)
                if crm == "hubspot":
                    hubspot_limits(info, per_ten_seconds=None)
                options = {"rest": args.rest, "consents": not args.no_consents}
                runs = {"full": sync_into(store_url, crm, info, full=True, **options)}
                if not args.full_only:
                    today = datetime.now(UTC).date()
                    edited = edit_share(crm, info, records=runs["full"]["records"], today=today)
                    incremental = sync_into(store_url, crm, info, full=False, **options)
                    runs["incremental"] = {**incremental, "edited": edited}
                    share = runs["incremental"]["api_calls"] / max(runs["full"]["api_calls"], 1)
                    runs["incremental_calls_share_of_full"] = round(share, 4)
                figures[crm] = runs
        figures["store"] = measure_file(path)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
