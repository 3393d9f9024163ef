"""``lawful-crm upcoming``: which flags will change on which day without an edit, and why (store only).

Each record's decision carries the day it expires (``valid_until``). For the records expiring within the window
the stored facts are decided on the day before and on the day itself; the difference is the flag change and
``next_change`` names its cause ("a consent goes stale", "rule F3 takes effect …"). No CRM is called, so
marketing can refresh consents before they lapse and a DPO can see the law's calendar arrive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.commands.common import open_store_or_exit, settings_or_exit
from connector.models import ContactFacts, Decision
from connector.policy import PolicySettings, evaluate, next_change
from connector.store import Upcoming

__all__ = ["UpcomingChange", "show_upcoming", "summarise_upcoming"]

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class UpcomingChange:
    """How many records change in the same way, on the same day, for the same cause."""

    day: date
    crm: str
    change: str
    cause: str
    records: int

    def as_json(self) -> dict[str, object]:
        return {
            "date": self.day.isoformat(),
            "crm": self.crm,
            "change": self.change,
            "cause": self.cause,
            "records": self.records,
        }


def _change(before: Decision, after: Decision) -> str:
    """The flag transitions in words; "reason or review only" when neither flag moves."""
    moves = []
    if before.do_not_cold_call != after.do_not_cold_call:
        moves.append("calls " + ("closed" if after.do_not_cold_call else "opened"))
    if before.email_allowed != after.email_allowed:
        moves.append("e-mail " + ("opened" if after.email_allowed else "closed"))
    if not moves and before.review_needed != after.review_needed:
        moves.append("review " + ("needed" if after.review_needed else "no longer needed"))
    return ", ".join(moves) or "reason or category only"


def summarise_upcoming(
    rows: Iterable[Upcoming], *, settings: PolicySettings, today: date
) -> list[UpcomingChange]:
    """Group the expiring records by day, CRM, change and cause. Pure: the rows come from the store.

    A record already due (its day on or before ``today``) is reported on ``today``: the next sync decides it."""
    groups: Counter[tuple[date, str, str, str]] = Counter()
    for row in rows:
        facts = ContactFacts.model_validate(row.facts)
        found = next_change(facts, now=row.valid_until - _DAY, settings=settings)
        if found is None:
            continue  # under the current settings nothing changes on that day (a policy change is pending)
        changes_on, causes = found
        before = evaluate(facts, now=changes_on - _DAY, settings=settings)
        after = evaluate(facts, now=changes_on, settings=settings)
        groups[(max(changes_on, today), row.crm, _change(before, after), "; ".join(causes))] += 1
    return [
        UpcomingChange(day, crm, change, cause, count)
        for (day, crm, change, cause), count in sorted(groups.items())
    ]


def show_upcoming(
    *,
    crm: str | None,
    days: int,
    as_of: date,
    as_json: bool,
    config: Path | None,
    store_url: str | None,
) -> None:
    """Print the flag changes due in the next ``days`` days, as a table or one JSON object per line."""
    settings = settings_or_exit(config)
    store = open_store_or_exit(settings, store_url)
    try:
        rows = store.due.upcoming(crm, start=date.min, end=as_of + timedelta(days=days))
    finally:
        store.close()
    changes = summarise_upcoming(rows, settings=settings.policy.to_policy(), today=as_of)
    if as_json:
        for change in changes:
            print(json.dumps(change.as_json(), ensure_ascii=False))
        return
    console = Console()
    if not changes:
        console.print(Text(f"No flag changes due by {as_of + timedelta(days=days)} without an edit."))
        return
    table = Table(
        title=Text(f"Flag changes due from {as_of} to {as_of + timedelta(days=days)} (no edit needed)")
    )
    for column in ("date", "crm", "change", "records", "why"):
        table.add_column(column, justify="right" if column == "records" else "left")
    for change in changes:
        table.add_row(
            change.day.isoformat(), change.crm, Text(change.change), f"{change.records:,}", Text(change.cause)
        )
    console.print(table)
