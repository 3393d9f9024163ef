"""Progress and the end-of-run summary of a sync: rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from rich.console import Console
from rich.file_proxy import FileProxy
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from connector.sync.run import SyncResult

__all__ = ["SyncProgress", "print_summary"]

log = logging.getLogger("lawful_crm.sync")


class SyncProgress:
    """Per-page callback: a live bar on terminals, a log line at most every few seconds otherwise."""

    def __init__(self, console: Console, *, every_s: float = 5.0) -> None:
        self.console, self.every_s = console, every_s
        self._bar: Progress | None = None
        self._tasks: dict[str, Any] = {}
        self._last_log = 0.0
        self._moved: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._started = time.monotonic()
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                TextColumn("{task.fields[records]:>9,} records  {task.fields[writes]:>8,} written"),
                TextColumn("{task.fields[calls]:>6,} API calls  {task.fields[rate]:>7,.0f}/s"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._bar.start()
            self._moved = _logs_above_the_bar()

    def __call__(self, result: SyncResult) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        fields: dict[str, Any] = {
            "records": result.tally.read,
            "writes": result.tally.written,
            "calls": result.api_calls,
            "rate": result.tally.read / elapsed,
        }
        if self._bar is not None:
            if result.crm not in self._tasks:
                self._tasks[result.crm] = self._bar.add_task(result.crm, total=None, **fields)
            self._bar.update(self._tasks[result.crm], **fields)
            return
        now = time.monotonic()
        if now - self._last_log >= self.every_s:
            self._last_log = now
            log.info(
                "%s: %s records, %s written, %s API calls, %.0f records/s",
                result.crm, fields["records"], fields["writes"], fields["calls"], fields["rate"],
            )  # fmt: skip

    def stop(self) -> None:
        for handler, stream in self._moved:
            handler.setStream(stream)
        self._moved = []
        if self._bar is not None:
            self._bar.stop()


def _logs_above_the_bar() -> list[tuple[logging.StreamHandler[Any], Any]]:
    """While a live bar is shown, rich replaces ``sys.stderr`` with a proxy that prints above the bar; the log
    handlers writing to the terminal's stderr are pointed at it, so a log line never tears through the bar.
    Returns each handler moved with its own stream, to put back when the bar stops."""
    proxy = sys.stderr
    if not isinstance(proxy, FileProxy):
        return []
    moved = []
    for handler in logging.getLogger().handlers:
        if (
            isinstance(handler, logging.StreamHandler)
            and not isinstance(handler, logging.FileHandler)
            and handler.stream is proxy.rich_proxied_file
        ):
            moved.append((handler, handler.setStream(proxy)))
    return moved


def print_summary(console: Console, result: SyncResult, *, elapsed_s: float) -> None:
    """The final table: records read, categories, flag transitions, writes, failures, API calls, quota left."""
    tally = result.tally
    table = Table(title=f"{result.crm}: {result.kind} sync, run {result.run_id}: {result.outcome.value}")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    rows: list[tuple[str, Any]] = [
        ("records read", tally.read),
        ("  of which decided again from the store", result.redecided),
        ("deleted in the CRM", tally.deleted),
        *((f"  category {name}", n) for name, n in tally.categories.most_common()),
        *((f"  {name}", n) for name, n in sorted(tally.transitions.items())),
        ("updates planned", tally.updates),
        ("updates written", tally.written),
        ("failed", tally.failed),
        ("parked: refused again and again, until they change", result.parked),
        ("skipped (record gone)", tally.gone),
        *((f"  error {code}", n) for code, n in sorted(tally.errors.items())),
        ("API calls used", result.api_calls),
        *(
            [
                (
                    f"  of which Bulk API 2.0 ({result.bulk_jobs} jobs, {result.bulk_polls} polls)",
                    result.bulk_calls,
                )
            ]
            if result.bulk_calls
            else []
        ),
        ("daily API quota left", "unknown" if result.quota_remaining is None else result.quota_remaining),
        ("seconds", f"{elapsed_s:.1f}"),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    for note in [*result.notes, *result.transfers]:
        console.print(Text(f"{result.crm}: {note}"))
    if result.message:
        console.print(Text(result.message))  # an error text: never read as markup, whatever the console
