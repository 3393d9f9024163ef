"""``lawful-crm runs``: the run history of the store, newest first, as a table or JSON lines.

Everything shown comes from the counts each run recorded: no record id, no personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.commands.common import store_or_exit
from connector.mapping.own_fields import FLAGS
from connector.store import RunRow

__all__ = ["flag_moves", "run_summary", "show_runs"]

_PERMISSIVE: dict[str, str] = {flag.role: str(flag.permissive).lower() for flag in FLAGS}
"""Flag role -> its permissive value as a run's transitions spell it."""


def flag_moves(transitions: Mapping[str, int]) -> dict[str, int]:
    """Flag transitions by direction: ``opened`` (a call or e-mail now allowed that was not), ``closed`` (the
    reverse) and ``first`` (a flag written where none was)."""
    moves = {"opened": 0, "closed": 0, "first": 0}
    for key, count in transitions.items():
        flag, _, change = key.partition(": ")
        old, _, new = change.partition("→")
        if old == "unset":
            moves["first"] += count
            continue
        permissive = new == _PERMISSIVE.get(flag, "true")
        moves["opened" if permissive else "closed"] += count
    return moves


def run_summary(run: RunRow) -> dict[str, Any]:
    """One run as the history shows it (JSON-ready)."""
    counts = run.counts
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    return {
        "id": run.id,
        "crm": run.crm,
        "started_at": run.started_at.isoformat(),
        "kind": run.kind,
        "outcome": run.outcome,
        "as_of": run.as_of.isoformat() if run.as_of is not None else None,
        "read": counts.get("read", 0),
        "redecided": counts.get("redecided", 0),
        "written": counts.get("written", 0),
        "flags": flag_moves(counts.get("transitions") or {}),
        "review_needed": counts.get("review", 0),
        "failed": counts.get("failed", 0),
        "api_calls": counts.get("api_calls"),
        "quota_remaining": counts.get("quota_remaining"),
        "duration_s": round(duration, 1) if duration is not None else None,
        "message": counts.get("message"),
    }


def show_runs(
    *, crm: str | None, limit: int, as_json: bool, config: Path | None, store_url: str | None
) -> None:
    """Print the newest ``limit`` runs (of one CRM, or all)."""
    store = store_or_exit(config, store_url)
    try:
        rows = [run_summary(run) for run in store.runs.recent(crm, limit=limit)]
    finally:
        store.close()
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped or redirected: every column whole, not squeezed to 80
    if not rows:
        console.print(Text("No runs recorded in this store yet."))
        return
    table = Table(title=Text("Runs, newest first"))
    columns = (
        *("run", "started (UTC)", "crm", "kind", "outcome", "read", "from store", "written"),
        *("opened", "closed", "review", "failed", "API calls", "quota left", "seconds"),
    )
    for column in columns:
        table.add_column(column, justify="right" if column not in ("crm", "kind", "outcome") else "left")
    for row in rows:
        flags = row["flags"]
        cells = (
            row["id"], row["started_at"][:19], row["crm"], row["kind"], row["outcome"], row["read"],
            row["redecided"], row["written"], flags["opened"], flags["closed"], row["review_needed"],
            row["failed"], row["api_calls"], row["quota_remaining"], row["duration_s"],
        )  # fmt: skip
        table.add_row(
            *(
                Text("—" if cell is None else f"{cell:,}" if isinstance(cell, int) else str(cell))
                for cell in cells
            )
        )
    console.print(table)
