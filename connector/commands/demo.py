"""``lawful-crm demo``: the whole product on the sandbox, in under a minute.

Starts both loopback emulators in-process, installs the connector's fields, runs a full sync on each CRM,
makes a few hundred edits as salespeople would (opt-outs, new consents, objections, a purchased-list source),
runs an incremental sync that reads and writes only those, and says where to look next. The connector is the one
every command builds (``bootstrap``), with the configuration's ``[policy]`` and ``[sync]``; only the CRM tables are
the sandbox's, the store is the demo's own file and the do-not-call key a fresh one (the store is new each time).
"""

from __future__ import annotations

import logging
import secrets
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from connector import bootstrap
from connector.commands.common import configure_logging
from connector.commands.summary import SyncProgress, print_summary
from connector.models import CrmName
from connector.settings import HubSpotConfig, SalesforceConfig, Settings
from connector.store import open_store
from connector.sync.run import SyncOptions, SyncResult
from crm_sandbox.edits import hubspot_user_edits, salesforce_user_edits
from crm_sandbox.launch import Sandboxes, running_sandboxes

__all__ = ["demo_settings", "run_demo"]


def demo_settings(settings: Settings, sandboxes: Sandboxes) -> Settings:
    """``settings`` with both CRMs the sandbox's (shipped mappings) and a fresh do-not-call key; ``[policy]``,
    ``[sync]`` and the rest as configured."""
    sf, hs = sandboxes.salesforce, sandboxes.hubspot
    salesforce = SalesforceConfig(
        auth="session", instance_url=sf.base_url, session_id=SecretStr(sf.token), bulk_poll_s=1
    )
    hubspot = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=190)
    return settings.model_copy(
        update={"salesforce": salesforce, "hubspot": hubspot, "dnc_key": SecretStr(secrets.token_hex(32))}
    )


def _sync_all(app: bootstrap.App, options: SyncOptions, console: Console) -> dict[CrmName, SyncResult]:
    """Sync both CRMs at once (they share nothing but the store) with a progress bar each, then print each
    summary."""
    names = bootstrap.CRMS
    progress = SyncProgress(console)

    def one(name: CrmName) -> tuple[SyncResult, float]:
        started = time.monotonic()
        return app.sync(name, options, progress=progress), time.monotonic() - started

    try:
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            timed = dict(zip(names, pool.map(one, names), strict=True))
    finally:
        progress.stop()
    for result, elapsed in timed.values():
        print_summary(console, result, elapsed_s=elapsed)
    return {name: result for name, (result, _) in timed.items()}


def run_demo(*, contacts: int, changes: int, store_path: Path, today: date, settings: Settings) -> None:
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
        app = bootstrap.build(demo_settings(settings, sandboxes), store=open_store(store_url), role="demo")
        step("2/5  lawful-crm install: the write-back fields, permission set and property group")
        for name in bootstrap.CRMS:
            report = app.crm(name).install(dry_run=False, uninstall=False)
            console.print(f"{name}: created {len(report.created)}, unchanged {len(report.unchanged)}")
        step("3/5  lawful-crm sync --full: every contact and lead classified and written back")
        _sync_all(app, SyncOptions(full=True, as_of=today), console)
        step(f"4/5  {changes} salespeople's edits per CRM: opt-outs, objections, new consents, a bought list")
        edited = {
            "salesforce": salesforce_user_edits(sandboxes.salesforce.state, changes, seed=28, today=today),
            "hubspot": hubspot_user_edits(sandboxes.hubspot.state, changes, seed=28, today=today),
        }
        step(
            "5/5  lawful-crm sync: the incremental run reads the edited records and writes only changed flags"
        )
        results = _sync_all(app, SyncOptions(as_of=today), console)
        app.close()
    console.rule("[bold]Where to look next")
    sample_sf, sample_hs = edited["salesforce"][0], edited["hubspot"][1]
    console.print(
        f"Demo finished in {time.monotonic() - began:.0f} s; "
        f"incremental runs read {results['salesforce'].tally.read} + {results['hubspot'].tally.read} records."
    )
    program = _program()
    store = shlex.quote(store_url)
    for label, command in (
        ("Why does a record have its flags?", f"audit show --crm salesforce {sample_sf} --store {store}"),
        ("Evidence pack for a DPO:", f"audit export --crm hubspot {sample_hs} --store {store}"),
        ("The runs as a page to open in a browser:", f"report --html demo-report.html --store {store}"),
        ("The rules, with citations:", "rules"),
        ("Rehearse a policy on your own data (then the admin guide in README.md):", "sandbox --toml"),
    ):
        print(label)
        print(f"  {program} {command}", flush=True)  # whole, never wrapped: it runs as printed


def _program() -> str:
    """How to call lawful-crm from here: its name when the PATH finds this installation, else its path."""
    script = Path(sys.executable).with_name("lawful-crm")
    found = shutil.which("lawful-crm")
    if found is not None and Path(found).resolve() == script.resolve():
        return "lawful-crm"
    try:
        return shlex.quote(str(script.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(script))
