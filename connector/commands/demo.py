"""``lawful-crm demo``: the whole product on the sandbox, in under a minute.

Starts both loopback emulators in-process, installs the connector's fields, runs a full sync on each CRM,
makes a few hundred edits as salespeople would (opt-outs, new consents, objections, a purchased-list source),
runs an incremental sync that reads and writes only those, and says where to look next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from connector.commands.common import configure_logging
from connector.commands.summary import print_summary
from connector.crm.port import CrmAdapter
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.sandbox.edits import hubspot_user_edits, salesforce_user_edits
from connector.sandbox.launch import Sandboxes, running_sandboxes
from connector.settings import HubSpotConfig, SalesforceConfig
from connector.store import Store, open_store
from connector.sync.run import SyncOptions, SyncResult, run_sync

__all__ = ["run_demo"]


def _adapters(sandboxes: Sandboxes) -> dict[str, CrmAdapter]:
    from connector.crm.hubspot import HubSpotCrm
    from connector.crm.salesforce import SalesforceCrm

    sf, hs = sandboxes.salesforce, sandboxes.hubspot
    salesforce = SalesforceCrm.from_config(
        SalesforceConfig(auth="session", instance_url=sf.base_url, session_id=SecretStr(sf.token)),
        load_mapping("salesforce"),
        bulk_poll_s=1,
    )
    hubspot = HubSpotCrm.from_config(
        HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=190),
        load_mapping("hubspot"),
    )
    return {"salesforce": salesforce, "hubspot": hubspot}


def _sync_all(
    adapters: dict[str, CrmAdapter], store: Store, options: SyncOptions, console: Console, today: date
) -> dict[str, SyncResult]:
    """Sync both CRMs at once (they share nothing but the store), then print each summary."""
    policy = PolicySettings()

    def one(name: str) -> tuple[SyncResult, float]:
        started = time.monotonic()
        mapping = CompiledMapping(load_mapping(name))
        return run_sync(
            adapters[name], mapping, policy, store, options, today=today
        ), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(adapters)) as pool:
        timed = dict(zip(adapters, pool.map(one, adapters), strict=True))
    for result, elapsed in timed.values():
        print_summary(console, result, elapsed_s=elapsed)
    return {name: result for name, (result, _) in timed.items()}


def run_demo(*, contacts: int, changes: int, store_path: Path, today: date) -> None:
    configure_logging(level=logging.WARNING)  # the demo shows tables; warnings still surface
    console = Console()
    step: Callable[[str], None] = lambda text: console.rule(f"[bold]{text}")  # noqa: E731
    began = time.monotonic()
    for leftover in (
        store_path,
        store_path.with_name(store_path.name + "-wal"),
        store_path.with_name(store_path.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)  # a stale write-ahead log would replay an earlier demo's cursors
    store_url = f"sqlite:///{store_path}"
    step(f"1/5  Starting loopback Salesforce and HubSpot emulators with {contacts:,} contacts each")
    with running_sandboxes(contacts=contacts, seed=7) as sandboxes:
        adapters = _adapters(sandboxes)
        store = open_store(store_url)
        step("2/5  lawful-crm install: the write-back fields, permission set and property group")
        for name, adapter in adapters.items():
            report = adapter.install(dry_run=False, uninstall=False)
            console.print(f"{name}: created {len(report.created)}, unchanged {len(report.unchanged)}")
        step("3/5  lawful-crm sync --full: every contact and lead classified and written back")
        _sync_all(adapters, store, SyncOptions(full=True), console, today)
        step(f"4/5  {changes} salespeople's edits per CRM: opt-outs, objections, new consents, a bought list")
        edited = {
            "salesforce": salesforce_user_edits(sandboxes.salesforce.state, changes, seed=28, today=today),
            "hubspot": hubspot_user_edits(sandboxes.hubspot.state, changes, seed=28, today=today),
        }
        step(
            "5/5  lawful-crm sync: the incremental run reads the edited records and writes only changed flags"
        )
        results = _sync_all(adapters, store, SyncOptions(), console, today)
        store.close()
    console.rule("[bold]Where to look next")
    sample_sf, sample_hs = edited["salesforce"][0], edited["hubspot"][1]
    console.print(
        f"Demo finished in {time.monotonic() - began:.0f} s; "
        f"incremental runs read {results['salesforce'].tally.read} + {results['hubspot'].tally.read} records.\n"
        f"Why does a record have its flags?   lawful-crm audit show --crm salesforce {sample_sf} --store {store_url}\n"
        f"Evidence pack for a DPO:            lawful-crm audit export --crm hubspot {sample_hs} --store {store_url}\n"
        "The rules, with citations:          lawful-crm rules\n"
        "Rehearse a policy on your own data: lawful-crm sandbox, then the admin guide in README.md"
    )
