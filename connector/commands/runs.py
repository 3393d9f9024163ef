"""``lawful-crm runs``: the run history of the store, newest first, as a table or JSON lines.

Everything shown comes from the counts each run recorded: no record id, no personal data.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.admin.history import flag_moves, run_summary
from connector.commands.common import store_or_exit

__all__ = ["flag_moves", "run_summary", "show_runs"]


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
        *("opened", "closed", "review", "failed", "parked", "API calls", "of which bulk", "quota left"),
        "seconds",
    )
    for column in columns:
        table.add_column(column, justify="right" if column not in ("crm", "kind", "outcome") else "left")
    for row in rows:
        flags = row["flags"]
        cells = (
            row["id"], row["started_at"][:19], row["crm"], row["kind"], row["outcome"], row["read"],
            row["redecided"], row["written"], flags["opened"], flags["closed"], row["review_needed"],
            row["failed"], row["parked"], row["api_calls"], row["bulk_calls"], row["quota_remaining"],
            row["duration_s"],
        )  # fmt: skip
        table.add_row(
            *(
                Text("—" if cell is None else f"{cell:,}" if isinstance(cell, int) else str(cell))
                for cell in cells
            )
        )
    console.print(table)
    for row in rows:  # how each large transfer went (REST or Bulk API 2.0) and why
        for transfer in row["transfers"]:
            console.print(Text(f"run {row['id']}: {transfer}"))
