"""``lawful-crm queue show|retry``: the webhook queue's depth and dead letters, and reviving them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from connector.commands.common import store_or_exit
from connector.store import Store

__all__ = ["retry_dead_letters", "show_queue"]


def _store(config: Path | None, store_url: str | None) -> Store:
    return store_or_exit(config, store_url)


def show_queue(*, crm: str | None, limit: int, config: Path | None, store_url: str | None) -> None:
    """Events per CRM and status, then the oldest dead letters with their attempts and last error code."""
    store = _store(config, store_url)
    try:
        depth = [d for d in store.queue.depth() if crm is None or d.crm == crm]
        dead = store.queue.dead_letters(crm, limit=limit)
    finally:
        store.close()
    # record ids and error codes are printed as they are, never read as markup
    console = Console(markup=False)
    if not depth:
        console.print("the queue is empty")
        return
    summary = Table(title="webhook queue")
    for column in ("crm", "pending", "dead", "done (kept for de-duplication)"):
        summary.add_column(column)
    for row in depth:
        summary.add_row(row.crm, str(row.pending), str(row.dead), str(row.done))
    console.print(summary)
    if not dead:
        return
    letters = Table(title=f"dead letters (oldest {len(dead)})")
    for column in ("event", "crm", "object", "record", "kind", "attempts", "received (UTC)", "error"):
        letters.add_column(column)
    for letter in dead:
        letters.add_row(
            str(letter.id), letter.crm, letter.object_type, letter.record_id, letter.kind, str(letter.attempts),
            letter.received_at.strftime("%Y-%m-%d %H:%M:%S"), letter.error_code or "",
        )  # fmt: skip
    console.print(letters)
    console.print("revive them with: lawful-crm queue retry [--crm C] [EVENT_ID ...]")


def retry_dead_letters(
    *, crm: str | None, event_ids: Sequence[int], config: Path | None, store_url: str | None
) -> None:
    """Make dead events (all, one CRM's, or the given ids) due now with a fresh set of attempts."""
    store = _store(config, store_url)
    try:
        revived = store.queue.retry_dead(now=datetime.now(UTC), crm=crm, ids=event_ids)
    finally:
        store.close()
    print(f"{revived} dead event(s) queued again; a running `lawful-crm serve` processes them")
