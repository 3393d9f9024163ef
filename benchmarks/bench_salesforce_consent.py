"""Benchmark the Salesforce full run with consent records read: API calls against the floor, consent queries.

The default mapping places data use purposes, so every page of contacts and leads costs one query of its
Individuals' ContactPointTypeConsent rows. The floor is `bench_sync.floor_calls` (what reading and writing the
records cannot go below) plus one consent query per page of `page_size` records of each object; the goal is a
full run within 1.1 × that floor. The consent queries are counted as the adapter sends them. The machine's load
average is printed with the figures (the machine is shared; wall time depends on it, calls do not).
Prints one JSON object. Usage: ``python benchmarks/bench_salesforce_consent.py [--contacts 100000]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from bench_sync import floor_calls
from pydantic import SecretStr
from sandbox_process import adapter, api_calls, running_sandbox

from connector.crm.salesforce import SalesforceCrm, consent
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import open_store
from connector.sync.run import SyncOptions, run_sync

GOAL = 1.1


def counting(counter: dict[str, int]) -> Callable[..., Any]:
    """Wrap the adapter's one consent query per page so the benchmark counts them."""
    original = consent.ConsentReader._rows

    def rows(self: consent.ConsentReader, object_type: str, rows_where: Any) -> Any:
        counter[object_type] = counter.get(object_type, 0) + 1
        return original(self, object_type, rows_where)

    return rows


def rest_adapter(info: dict[str, Any]) -> SalesforceCrm:
    """The adapter with Bulk API 2.0 off: every read a SOQL page, every write a collection of 200."""
    org = info["salesforce"]
    config = SalesforceConfig(
        auth="session", instance_url=org["instance_url"], session_id=SecretStr(org["token"]),
        bulk_threshold=1_000_000_000,
    )  # fmt: skip
    return SalesforceCrm.from_config(config, load_mapping("salesforce"))


def in_scope(info: dict[str, Any]) -> dict[str, int]:
    """How many contacts and (unconverted) leads a full run reads."""
    org = info["salesforce"]
    url = f"{str(org['instance_url']).rstrip('/')}/services/data/v59.0/query"
    headers = {"Authorization": f"Bearer {org['token']}"}

    def count(statement: str) -> int:
        answer = requests.get(url, params={"q": statement}, headers=headers, timeout=600)
        answer.raise_for_status()
        return int(answer.json()["totalSize"])

    return {
        "Contact": count("SELECT COUNT() FROM Contact"),
        "Lead": count("SELECT COUNT() FROM Lead WHERE IsConverted = false"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--rest",
        action="store_true",
        help="REST only (bulk_threshold above the org's size): the floor's own path",
    )
    args = parser.parse_args()
    page_size = SalesforceConfig.model_fields["page_size"].default
    queries: dict[str, int] = {}
    consent.ConsentReader._rows = counting(queries)  # type: ignore[method-assign]
    load_before = os.getloadavg()
    with running_sandbox(args.contacts) as info, tempfile.TemporaryDirectory() as tmp:
        crm = rest_adapter(info) if args.rest else adapter("salesforce", info)
        crm.install(dry_run=False, uninstall=False)
        scope = in_scope(info)
        before = api_calls("salesforce", info)
        started = time.perf_counter()
        store = open_store(f"sqlite:///{Path(tmp) / 'salesforce.db'}")
        mapping = CompiledMapping(load_mapping("salesforce"))
        result = run_sync(crm, mapping, PolicySettings(), store, SyncOptions(full=True))
        seconds = time.perf_counter() - started
        calls = api_calls("salesforce", info) - before
    pages = {kind: math.ceil(count / page_size) for kind, count in scope.items()}
    floor = floor_calls("salesforce", result.tally.read, result.tally.written) + sum(pages.values())
    figures = {
        "tool": "lawful-crm", "crm": "salesforce", "contacts": args.contacts, "rest_only": args.rest, "in_scope": scope,
        "outcome": result.outcome.value, "message": result.message, "records": result.tally.read, "written": result.tally.written,
        "api_calls": calls, "consent_queries": queries, "pages": pages, "floor_calls": floor,
        "calls_vs_floor": round(calls / max(floor, 1), 3), "goal": GOAL, "seconds": round(seconds, 1),
        "bulk_calls": result.bulk_calls, "bulk_jobs": result.bulk_jobs, "transfers": result.transfers,
        "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
