"""Benchmark how HubSpot's search lag delays the sync's view of user edits, and what the overlap costs.

Prints one JSON object. A HubSpot sandbox with ``--lag`` seconds of search lag (each write waits between half
of it and all of it) and ``--contacts`` contacts is synced once in full; then ``--edits`` contacts are edited
as in the HubSpot UI and an incremental run starts every ``--every`` seconds of sandbox time (the sandbox
clock is moved, nothing sleeps) until a run starts after search has indexed every edit. Figures: the records
each run read, the runs and the sandbox time from the edits to that run (``caught_up_s``), the records read in
all and beyond the edits (``extra_reads``: the overlap re-reads what search shows again; reads, never writes)
and the API calls.

Usage: ``python benchmarks/bench_search_lag.py [--contacts 2000] [--edits 200] [--lag 5] [--every 1]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig
from connector.store import open_store
from connector.sync.run import SyncOptions, run_sync
from crm_sandbox.edits import hubspot_user_edits
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot

TODAY = date(2026, 11, 28)
MAPPING = load_mapping("hubspot")


def measure(contacts: int, edits: int, lag: float, every: float) -> dict[str, Any]:
    """Run the scenario once and return its figures."""
    with (
        tempfile.TemporaryDirectory() as folder,
        running_hubspot(
            contacts=contacts, seed=5, per_ten_seconds=None, search_per_second=None, search_lag_s=lag
        ) as sandbox,
    ):
        store = open_store(f"sqlite:///{Path(folder) / 'store.db'}")

        def sync(hs: HubSpotSandbox) -> Any:
            config = HubSpotConfig(
                base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=10_000
            )
            crm = HubSpotCrm.from_config(config, MAPPING)
            return run_sync(crm, CompiledMapping(MAPPING), PolicySettings(), store, SyncOptions(),
                            clock=hs.state.clock.now, today=TODAY)  # fmt: skip

        config = HubSpotConfig(base_url=sandbox.base_url, access_token=SecretStr(sandbox.token))
        HubSpotCrm.from_config(config, MAPPING).install(dry_run=False, uninstall=False)
        sync(sandbox)
        sandbox.state.clock.advance(seconds=lag)
        edited = set(hubspot_user_edits(sandbox.state, edits, seed=9, today=TODAY))
        edited_at = sandbox.state.clock.now()
        indexed_by = max(at for at, _ in sandbox.state.store.pending.values())
        per_run: list[int] = []
        calls = 0
        while True:
            started = sandbox.state.clock.now()
            result = sync(sandbox)
            per_run.append(result.tally.read)
            calls += result.api_calls
            if started >= indexed_by or len(per_run) >= 100:
                break
            sandbox.state.clock.advance(seconds=every)
        caught_up = (started - edited_at).total_seconds()
        store.close()
    return {
        "contacts": contacts, "edits": len(edited), "lag_s": lag, "run_every_s": every,
        "reads_per_run": per_run, "runs_until_caught_up": len(per_run), "caught_up_s": round(caught_up, 3),
        "records_read": sum(per_run), "extra_reads": sum(per_run) - len(edited), "api_calls": calls,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--lag", type=float, default=5.0)
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.contacts, args.edits, args.lag, args.every), indent=2))


if __name__ == "__main__":
    main()
