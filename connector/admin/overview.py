"""What the admin's view shows, gathered from the store's counts: per CRM its last run, flags written, failures,
review backlog, quota, categories, transitions, errors and queue; the register copies; the next scheduled run.

Counts, run ids, rule ids and error codes only: no record id, no personal data.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from connector.admin.history import flag_moves, run_summary
from connector.dnc.registers import register_statuses
from connector.dnc.reports import ListStatus
from connector.dnc.store import DncStore
from connector.settings import Settings
from connector.store import Store
from connector.store.overview import dead_letter_codes, decision_counts
from connector.webhooks.schedule import next_run

__all__ = [
    "CrmView",
    "Overview",
    "Transition",
    "collect",
    "health_facts",
    "overview_source",
    "register_status",
]

RUNS_SHOWN = 20
"""Runs in each CRM's chart and table."""
OVERVIEW_MAX_AGE = timedelta(seconds=30)
"""How long ``/admin`` shows the same counts before it gathers them again."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One flag transition of a run (``email_allowed: false→true``) and whether it opens a channel."""

    change: str
    count: int
    opens: bool


@dataclass(frozen=True, slots=True)
class CrmView:
    crm: str
    runs: list[dict[str, Any]]
    """The newest runs, newest first, as ``lawful-crm runs --json`` prints them."""
    managed: int = 0
    review_backlog: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    """The transitions of the newest run that changed a flag."""
    errors: dict[str, int] = field(default_factory=dict)
    """Failed writes by error code over the runs shown."""
    queue_pending: int = 0
    queue_dead: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    """Records whose latest write the CRM refused (a validation rule, a required field, …), by code: the org's
    rules or the records need a look (``lawful-crm audit refused`` names them)."""
    claimed: dict[str, int] = field(default_factory=dict)
    """Events being settled now, by the process holding them (``host:pid:role``)."""

    @property
    def last_run(self) -> dict[str, Any] | None:
        return self.runs[0] if self.runs else None

    @property
    def quota_left(self) -> int | None:
        """The quota the newest run that reported one left."""
        return next((run["quota_remaining"] for run in self.runs if run["quota_remaining"] is not None), None)


@dataclass(frozen=True, slots=True)
class Overview:
    generated_at: datetime
    crms: list[CrmView]
    registers: list[ListStatus]
    next_run: datetime | None
    schedule: str
    time_zone: str


def _transitions(raw: Sequence[dict[str, int]]) -> list[Transition]:
    """The transitions of the newest run that changed a flag (runs newest first)."""
    for transitions in raw:
        if transitions:
            return [
                Transition(change, count, opens=flag_moves({change: count})["opened"] > 0)
                for change, count in sorted(transitions.items())
            ]
    return []


def register_status(engine: Engine, today: date) -> list[ListStatus]:
    """Each do-not-call register's copy in the store: its date, size, age and warnings (no key needed)."""
    return register_statuses(DncStore(engine), today)


def collect(
    store: Store,
    crms: Sequence[str],
    *,
    now: datetime,
    schedule: str,
    time_zone: str,
    runs_shown: int = RUNS_SHOWN,
) -> Overview:
    """The admin's view of ``crms`` (and of every other CRM the run log names) as of ``now``."""
    recorded = {run.crm for run in store.runs.recent(limit=200)}
    depth = {d.crm: d for d in store.queue.depth(settled=False)}
    claims = store.queue.claims(now=now)
    views = []
    for crm in [*crms, *sorted(recorded - set(crms))]:
        rows = store.runs.recent(crm, limit=runs_shown)
        runs = [run_summary(run) for run in rows]
        counts = decision_counts(store.engine, crm)
        errors: Counter[str] = Counter()
        for run in rows:
            errors.update(run.counts.get("errors") or {})
        queue = depth.get(crm)
        views.append(
            CrmView(
                crm=crm,
                runs=runs,
                managed=counts.managed,
                review_backlog=counts.review,
                categories=dict(counts.categories.most_common()),
                transitions=_transitions([run.counts.get("transitions") or {} for run in rows]),
                errors=dict(errors.most_common()),
                queue_pending=queue.pending if queue else 0,
                queue_dead=queue.dead if queue else 0,
                dead_letters=dict(dead_letter_codes(store.engine, crm).most_common()),
                refused=dict(Counter(r.code or "no code" for r in store.audit.refusals(crm)).most_common()),
                claimed=dict(sorted(claims.get(crm, {}).items())),
            )
        )
    return Overview(
        generated_at=now,
        crms=views,
        registers=register_status(store.engine, now.date()),
        next_run=next_run(schedule, time_zone, now) if views or crms else None,
        schedule=schedule,
        time_zone=time_zone,
    )


def overview_source(
    settings: Settings,
    store: Store,
    crms: Sequence[str],
    *,
    clock: Callable[[], datetime] | None = None,
    max_age: timedelta = OVERVIEW_MAX_AGE,
) -> Callable[[], Overview]:
    """A callable that gathers the overview, again once the last one is older than ``max_age``: the page is
    read often, and counting the categories of a million current decisions takes seconds
    (``benchmarks/bench_admin_overview.py``). The page says as of when its counts are."""
    lock = threading.Lock()
    kept: list[Overview] = []

    def gather() -> Overview:
        now = clock() if clock is not None else datetime.now(UTC)
        with lock:
            if not kept or now - kept[0].generated_at >= max_age:
                sync = settings.sync
                kept[:] = [collect(store, crms, now=now, schedule=sync.schedule, time_zone=sync.time_zone)]
            return kept[0]

    return gather


def health_facts(store: Store, *, schedule: str, time_zone: str, now: datetime) -> dict[str, Any]:
    """What ``/healthz`` adds for a monitor: the newest run (CRM, kind, outcome, start) and the next scheduled run."""
    newest = store.runs.recent(limit=1)
    last = (
        {
            "crm": newest[0].crm,
            "kind": newest[0].kind,
            "outcome": newest[0].outcome,
            "started_at": newest[0].started_at.isoformat(),
        }
        if newest
        else None
    )
    return {"last_run": last, "next_run": next_run(schedule, time_zone, now).isoformat()}
