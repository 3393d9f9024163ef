"""Benchmark catching up without an edit: records due by date, and a policy change, decided again from the store.

For each CRM, on the sandbox with the real SDKs (emulators in a child process, as in ``bench_sync.py``) and the
do-not-call screener of the store, as ``lawful-crm sync`` runs. Each measurement starts with a full first run of
N contacts and an ordinary run with nothing due (what the incremental pull alone costs), on a sandbox of its own:

* **due by date**: the store's ``valid_until`` values give the day by which about 1 % of the records' decisions
  expire; an ordinary run as of that day (``sync --as-of``) pulls what changed (nothing) and decides the due
  records again from the store. Its API calls are compared with the fewest the pull and those records' writes
  need (200 per Salesforce collection write, 100 per HubSpot batch, each object type written on its own). Then
  the next ordinary run, as of the same day (left out on HubSpot above 20,000 contacts, see below);
* **policy change**: an ordinary run under other policy settings (by default ``consent_max_idle_months=12``;
  ``--accept-large-change`` so that a loosening change is measured too) decides every record again from the
  store and writes only the fields that change.

API calls are the sandbox's own counts; the catch-up phase is timed and counted on its own, with its parts (due
query, re-decision with re-screening, CRM writes, the rest: plans and audit). Prints one JSON object.
Usage: ``python benchmarks/bench_catch_up.py [--contacts 100000] [--crm all] [--no-rate-limit]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sandbox_process import (
    HUBSPOT_LIMIT_PER_TEN_SECONDS,
    UNLIMITED,
    adapter,
    api_calls,
    hubspot_limits,
    peak_rss_mb,
    running_sandbox,
)
from sqlalchemy import func, select

from connector.crm.port import CrmPort
from connector.dnc.keys import KeySource
from connector.dnc.registers import DncRegisters
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.models import Profile
from connector.policy import PolicySettings
from connector.store import Store, open_store
from connector.store.due import DueRecords
from connector.store.tables import record_states
from connector.sync import run as sync_run
from connector.sync.pipeline import Decided, Pipeline
from connector.sync.run import SyncOptions, run_sync

DNC_KEY = KeySource(file=Path("unused"), value=secrets.token_hex(32))
"""The do-not-call hash key of this process's stores (the variable wins over the file, so none is written)."""
WRITE_BATCH = {"salesforce": 200, "hubspot": 100}
"""Records per write call: a Salesforce sObject collection, a HubSpot batch update."""


@dataclass
class Phases:
    """Where a run's catch-up spent its time and calls (the pull before it is the rest of the run)."""

    crm: str
    info: dict[str, Any]
    seconds: float = 0.0
    calls: int = 0
    query_s: float = 0.0
    redecide_s: float = 0.0
    write_s: float = 0.0
    inside: bool = False
    fields: Counter[str] = field(default_factory=Counter)
    records: set[tuple[str, str]] = field(default_factory=set)

    def sink(self, item: Decided, status: str) -> None:
        if self.inside and status == "written":
            self.fields.update(change.field for change in item.plan.changes)
            self.records.add((item.record.object_type, item.record.id))


def _timed(phases: Phases, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not phases.inside:
            return original(*args, **kwargs)
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            setattr(phases, name, getattr(phases, name) + time.perf_counter() - started)

    return wrapper


@contextmanager
def watched(phases: Phases, port: CrmPort) -> Iterator[None]:
    """Time the catch-up phase of the runs in the block, and its parts, and count its API calls."""
    catch_up = sync_run._SyncRun._catch_up
    page, redecide = DueRecords.page, Pipeline.redecide

    def timed_catch_up(run: Any) -> bool:
        before = api_calls(phases.crm, phases.info)
        phases.inside = True
        started = time.perf_counter()
        try:
            return bool(catch_up(run))
        finally:
            phases.seconds += time.perf_counter() - started
            phases.inside = False
            phases.calls += api_calls(phases.crm, phases.info) - before

    write = port.write
    sync_run._SyncRun._catch_up = timed_catch_up  # type: ignore[method-assign]
    DueRecords.page = _timed(phases, "query_s", page)  # type: ignore[method-assign]
    Pipeline.redecide = _timed(phases, "redecide_s", redecide)  # type: ignore[method-assign]
    port.write = _timed(phases, "write_s", write)  # type: ignore[method-assign]
    try:
        yield
    finally:
        sync_run._SyncRun._catch_up = catch_up  # type: ignore[method-assign]
        DueRecords.page = page  # type: ignore[method-assign]
        Pipeline.redecide = redecide  # type: ignore[method-assign]
        port.write = write  # type: ignore[method-assign]


def measure(
    crm: str,
    info: dict[str, Any],
    store: Store,
    options: SyncOptions,
    policy: PolicySettings,
    *,
    limited: bool,
) -> dict[str, Any]:
    """One ordinary (or full) run as ``lawful-crm sync`` makes it, with the catch-up phase measured apart."""
    port = adapter(crm, info, per_ten_seconds=HUBSPOT_LIMIT_PER_TEN_SECONDS if limited else UNLIMITED)
    mapping = CompiledMapping(load_mapping(crm))
    screener = DncRegisters(store, key=DNC_KEY)
    today = options.as_of or date.today()
    registers = screener.version() or "none"
    due = store.due.tally(crm, today=today, policy_id=policy.policy_id, registers=registers)
    phases = Phases(crm, info)
    before = api_calls(crm, info)
    started = time.perf_counter()
    with watched(phases, port):
        result = run_sync(port, mapping, policy, store, options, screener=screener, on_change=phases.sink)
    seconds = time.perf_counter() - started
    calls = api_calls(crm, info) - before
    tally = result.tally
    pull_calls = calls - phases.calls
    written_by_catch_up = len(phases.records)
    per_object = Counter(object_type for object_type, _ in phases.records)
    figures: dict[str, Any] = {
        "outcome": result.outcome.value, "as_of": today.isoformat(), "policy_id": policy.policy_id,
        "due": {"expired": due.expired, "policy": due.policy, "registers": due.registers},
        "redecided": result.redecided, "pulled": tally.read - result.redecided,
        "updates": tally.updates, "written": tally.written, "failed": tally.failed,
        "written_by_catch_up": written_by_catch_up,
        "fields_written_by_catch_up": dict(sorted(phases.fields.items())),
        "flag_transitions": dict(sorted(tally.transitions.items())),
        "api_calls": calls, "pull_calls": pull_calls, "catch_up_calls": phases.calls,
        "adapter_calls": result.api_calls,
        "seconds": round(seconds, 1), "catch_up_seconds": round(phases.seconds, 1),
        "catch_up_parts_seconds": {
            "due_query": round(phases.query_s, 1), "redecide_and_screen": round(phases.redecide_s, 1),
            "crm_write": round(phases.write_s, 1),
            "plan_audit_and_rest": round(phases.seconds - phases.query_s - phases.redecide_s - phases.write_s, 1),
        },
        "redecided_per_second": round(result.redecided / phases.seconds) if phases.seconds else None,
        "notes": result.notes, "message": result.message,
    }  # fmt: skip
    if not options.full:
        # the catch-up writes each object type on its own: at least one call per object type it writes
        writes_least = sum(math.ceil(n / WRITE_BATCH[crm]) for n in per_object.values())
        figures["written_by_catch_up_per_object"] = dict(sorted(per_object.items()))
        figures["least_write_calls"] = writes_least
        least = pull_calls + writes_least
        figures["least_calls"] = least
        figures["calls_over_least"] = calls - least
    return figures


def as_of_for_share(store: Store, crm: str, share: float) -> tuple[date, int, int]:
    """The day by which about ``share`` of the records' decisions expire (``valid_until`` on or before it),
    with how many expire by then and how many records the store holds."""
    total_q = select(func.count()).select_from(record_states).where(record_states.c.crm == crm)
    days_q = (
        select(record_states.c.valid_until, func.count())
        .where(record_states.c.crm == crm, record_states.c.valid_until.is_not(None))
        .group_by(record_states.c.valid_until)
        .order_by(record_states.c.valid_until)
    )
    with store.engine.connect() as db:
        total = int(db.execute(total_q).scalar_one())
        days = [(row[0], int(row[1])) for row in db.execute(days_q)]
    if not days:
        raise SystemExit(f"{crm}: no record has a valid_until; nothing can fall due by date")
    target = share * total
    best, best_count, running = days[0][0], days[0][1], 0
    for day, count in days:
        running += count
        if abs(running - target) < abs(best_count - target):
            best, best_count = day, running
        if running > target:
            break
    return best, best_count, total


def valid_until_quantiles(store: Store, crm: str) -> dict[str, Any]:
    """The spread of valid_until over the CRM's records (for the report)."""
    query = (
        select(record_states.c.valid_until)
        .where(record_states.c.crm == crm, record_states.c.valid_until.is_not(None))
        .order_by(record_states.c.valid_until)
    )
    with store.engine.connect() as db:
        values = [row[0] for row in db.execute(query)]
        total = int(
            db.execute(
                select(func.count()).select_from(record_states).where(record_states.c.crm == crm)
            ).scalar_one()
        )
    if not values:
        return {"records": total, "with_valid_until": 0}
    pick = {q: values[min(len(values) - 1, int(q / 100 * total))] for q in (0.1, 1, 5, 10, 50)}
    return {
        "records": total,
        "with_valid_until": len(values),
        "earliest": values[0].isoformat(),
        **{
            f"p{q:g}": (day.isoformat() if int(q / 100 * total) < len(values) else None)
            for q, day in pick.items()
        },
    }


def changed_policy(name: str) -> PolicySettings:
    if name == "legal_minimum":
        return PolicySettings(profile=Profile.LEGAL_MINIMUM)
    return PolicySettings(consent_max_idle_months=int(name.removeprefix("consent_max_idle_months=")))


FOLLOW_UP_HUBSPOT_UP_TO = 20_000
"""The run after a catch-up re-reads the full run's write-back (see ``follow_up``); the HubSpot emulator answers
each of those searches by scanning every contact, so above this size that run is left out on HubSpot."""


def _started(crm: str, info: dict[str, Any], store: Store, *, limited: bool) -> dict[str, Any]:
    """Install, then a full first run and an ordinary run with nothing due (the incremental pull's own cost)."""
    adapter(crm, info).install(dry_run=False, uninstall=False)
    if crm == "hubspot":
        hubspot_limits(info, per_ten_seconds=HUBSPOT_LIMIT_PER_TEN_SECONDS if limited else None)
    policy = PolicySettings()
    full = measure(crm, info, store, SyncOptions(full=True), policy, limited=limited)
    idle = measure(crm, info, store, SyncOptions(), policy, limited=limited)
    return {"full": _brief(full), "idle_incremental": _brief(idle)}


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    keep = ("outcome", "pulled", "redecided", "written", "api_calls", "seconds")
    return {key: figures[key] for key in keep}


def due_by_date(
    crm: str, info: dict[str, Any], *, limited: bool, share: float, follow_up: bool
) -> dict[str, Any]:
    """Full run, idle run, then an ordinary run as of the day by which ``share`` of the decisions expire."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / (crm + '.db')}")
        try:
            figures = _started(crm, info, store, limited=limited)
            figures["valid_until"] = valid_until_quantiles(store, crm)
            as_of, expiring, total = as_of_for_share(store, crm, share)
            due = measure(crm, info, store, SyncOptions(as_of=as_of), PolicySettings(), limited=limited)
            due["share_due"] = round(expiring / max(total, 1), 4)
            figures["due_by_date"] = due
            if follow_up:
                after = measure(crm, info, store, SyncOptions(as_of=as_of), PolicySettings(), limited=limited)
                figures["next_ordinary_run"] = _brief(after)
        finally:
            store.close()
    return figures


def policy_change(crm: str, info: dict[str, Any], *, limited: bool, change: str) -> dict[str, Any]:
    """Full run, idle run, then an ordinary run under changed policy settings (guard told to go on)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / (crm + '.db')}")
        try:
            figures = _started(crm, info, store, limited=limited)
            options = SyncOptions(accept_large_change=True)
            changed = measure(crm, info, store, options, changed_policy(change), limited=limited)
            changed["policy_change"] = change
            figures["policy_change"] = changed
        finally:
            store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--crm", default="all", choices=["salesforce", "hubspot", "all"])
    parser.add_argument("--no-rate-limit", action="store_true", help="HubSpot emulator without rate limits")
    parser.add_argument("--share", type=float, default=0.01, help="share of records due by date (0.01)")
    parser.add_argument(
        "--policy-change",
        default="consent_max_idle_months=12",
        help="the changed settings: consent_max_idle_months=N or legal_minimum",
    )
    parser.add_argument("--measure", default="both", choices=["due", "policy", "both"])
    args = parser.parse_args()
    crms = ["salesforce", "hubspot"] if args.crm == "all" else [args.crm]
    figures: dict[str, Any] = {
        "tool": "lawful-crm", "contacts_per_crm": args.contacts,
        "hubspot_rate_limit": None if args.no_rate_limit else HUBSPOT_LIMIT_PER_TEN_SECONDS,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    limited = not args.no_rate_limit
    # each measurement on a sandbox of its own: the CRM's state and modification times start the same
    if args.measure in ("due", "both"):
        with running_sandbox(args.contacts) as info:
            for crm in crms:
                follow_up = crm == "salesforce" or args.contacts <= FOLLOW_UP_HUBSPOT_UP_TO
                figures.setdefault(crm, {})["due"] = due_by_date(
                    crm, info, limited=limited, share=args.share, follow_up=follow_up
                )
    if args.measure in ("policy", "both"):
        with running_sandbox(args.contacts) as info:
            for crm in crms:
                figures.setdefault(crm, {})["policy"] = policy_change(
                    crm, info, limited=limited, change=args.policy_change
                )
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
