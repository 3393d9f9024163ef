"""``lawful-crm sync``: pull, classify, plan and write back for each configured CRM, with a summary."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from connector import bootstrap
from connector.admin.alerts import alert_after_run
from connector.commands.changes import ChangeReport
from connector.commands.common import EXIT, configure_logging, fail_configuration, settings_or_exit
from connector.commands.summary import SyncProgress, print_summary
from connector.errors import ConfigurationError, FatalError, SyncAlreadyRunning
from connector.store.problems import store_problem
from connector.sync.run import Outcome, SyncOptions, SyncResult

__all__ = ["run_sync_command"]


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a sync the way Ctrl-C does: the run's ``finally`` records it as interrupted."""
    raise KeyboardInterrupt


def _exit_code(results: list[SyncResult]) -> int:
    codes = [0]
    for result in results:
        if result.outcome is Outcome.COMPLETED:
            codes.append(EXIT["record_failures"] if result.tally.failed else EXIT["completed"])
        else:
            codes.append(EXIT[result.outcome.value])
    return max(codes)


def run_sync_command(
    *,
    crm: str,
    options: SyncOptions,
    report: Path | None,
    config: Path | None,
    store_url: str | None,
) -> None:
    """Sync each chosen CRM in turn; exit with the most severe outcome (see README, exit statuses)."""
    configure_logging()
    # messages carry error texts and paths: printed as they are, never read as markup nor wrapped inside a path
    console = Console(stderr=False, markup=False, soft_wrap=True)
    app = bootstrap.build(settings_or_exit(config), store_url=store_url)
    try:
        names = app.crms(crm)
        for name in names:
            app.mapping(name)  # every mapping file is checked before the first sync starts
        app.store  # noqa: B018 - opened now: a store that cannot be opened exits 2 before any sync
    except ConfigurationError as error:
        fail_configuration(error)
    results: list[SyncResult] = []
    unfinished: list[int] = []
    """Exit statuses of the CRMs whose sync produced no result (refused login, another sync running)."""
    change_report = ChangeReport(report) if report is not None else None
    progress = SyncProgress(console)
    signal.signal(signal.SIGTERM, _interrupt)  # recorded as interrupted, like Ctrl-C, never as completed
    try:
        for name in names:
            if change_report is not None:
                change_report.crm = name
            outcome = _sync_one(app, name, options, progress, change_report, console)
            if isinstance(outcome, SyncResult):
                results.append(outcome)
            else:
                unfinished.append(outcome)
            alert_after_run(app.settings.alerts, app.store, name, today=datetime.now(UTC).date())
    except KeyboardInterrupt:
        progress.stop()
        console.print(
            "interrupted: the run is recorded as interrupted; the next run resumes and redoes what it owed"
        )
        raise typer.Exit(code=EXIT["interrupted"]) from None
    finally:
        progress.stop()
        if change_report is not None:
            change_report.close()
            console.print(
                f"{change_report.count} {'person' if change_report.count == 1 else 'people'} with changes "
                f"listed in {change_report.path}"
            )
        app.close()
    raise typer.Exit(code=max([_exit_code(results), *unfinished]))


def _sync_one(
    app: bootstrap.App,
    name: bootstrap.CrmName,
    options: SyncOptions,
    progress: SyncProgress,
    change_report: ChangeReport | None,
    console: Console,
) -> SyncResult | int:
    """The CRM's run and its summary; when it produced no result, its exit status (the other CRMs still run)."""
    started = time.monotonic()
    try:
        result = app.sync(name, options, progress=progress, on_change=change_report)
    except SyncAlreadyRunning:
        console.print(f"{name}: another sync of this CRM is running; skipped")
        return EXIT["stopped"]
    except ConfigurationError as error:
        progress.stop()
        fail_configuration(error)
    except FatalError as error:
        progress.stop()
        console.print(f"{name}: the run failed: {type(error).__name__}: {error}")
        return EXIT["failed"]
    except Exception as error:  # never a traceback: the type only, since an error text may quote data
        progress.stop()
        where = bootstrap.describe_store(app.store.engine.url.render_as_string(hide_password=True))
        problem = store_problem(error)
        cause = f"on the store {where}: {problem}" if problem else f"unexpectedly ({type(error).__name__})"
        console.print(
            f"{name}: the run failed {cause}; it is recorded as failed and the next run resumes from the last "
            "checkpoint"
        )
        raise typer.Exit(code=EXIT["failed"]) from None
    print_summary(console, result, elapsed_s=time.monotonic() - started)
    return result
