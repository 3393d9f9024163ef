"""Commands a CRM admin runs once or rarely: ``install``, ``mappings check``, ``db upgrade``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from connector import bootstrap
from connector.commands.common import EXIT, configure_logging, fail_configuration, settings_or_exit
from connector.errors import ConfigurationError, FatalError

__all__ = ["check_mappings", "install", "upgrade_database"]

# Fields an adapter computes rather than reads (won-opportunity close date on Salesforce contacts).
SYNTHETIC_FIELDS = frozenset({"Last_Won_Close_Date"})


def install(*, crm: str, dry_run: bool, uninstall: bool, config: Path | None) -> None:
    """Create (or remove) the write-back fields and their permissions; print what was done."""
    configure_logging()
    console = Console()
    app = bootstrap.build(settings_or_exit(config))
    try:
        for name in app.crms(crm):
            report = app.crm(name).install(dry_run=dry_run, uninstall=uninstall)
            verb = "would " if dry_run else ""
            if uninstall:
                lines = [(f"{verb}remove", item) for item in report.removed]
            else:
                lines = [(f"{verb}create", item) for item in report.created]
            lines += [("unchanged", item) for item in report.unchanged]
            for action, item in lines:
                console.print(f"{name}: {action:>15}  {escape(str(item))}")
            for problem in report.problems:
                console.print(f"{name}: [red]problem[/red]  {escape(str(problem))}")
            changed = len(report.removed if uninstall else report.created)
            console.print(
                f"{name}: {changed} {'to change' if dry_run else 'changed'}, {len(report.unchanged)} unchanged"
                + (" — nothing to do" if not changed else "")
            )
            if report.problems:
                raise typer.Exit(code=1)
    except ConfigurationError as error:
        fail_configuration(error)
    except FatalError as error:
        console.print(f"install failed: {type(error).__name__}: {escape(str(error))}")
        raise typer.Exit(code=EXIT["failed"]) from None


def _offline_names(settings: bootstrap.Settings, crm: str) -> list[bootstrap.CrmName]:
    """The CRMs whose mapping an offline check reads: one named, or with ``all`` every configured one (each
    CRM's default mapping when none is configured)."""
    if crm != "all":
        return [bootstrap.crm_name(crm)]
    return [name for name in bootstrap.CRMS if getattr(settings, name) is not None] or list(bootstrap.CRMS)


def check_mappings(*, crm: str, config: Path | None, offline: bool) -> None:
    """Validate the mapping file, then compare it with the CRM's describe; list every problem."""
    from connector.mapping.check import check_mapping

    configure_logging()
    console = Console()
    problems_found = 0
    app = bootstrap.build(settings_or_exit(config))
    try:
        names = app.crms(crm) if not offline else _offline_names(app.settings, crm)
        for name in names:
            mapping = app.mapping(name)
            console.print(f"{name}: the mapping file is valid ({len(mapping.objects)} objects)")
            if offline:
                continue
            adapter = app.crm(name)
            described = {obj: adapter.describe(obj) for obj in mapping.objects}
            problems = check_mapping(mapping, described, adapter.value_counts, synthetic=SYNTHETIC_FIELDS)
            for problem in problems:
                console.print(f"{name}: {escape(str(problem))}")
            console.print(f"{name}: {len(problems)} problem(s) against the CRM")
            problems_found += len(problems)
    except ConfigurationError as error:
        fail_configuration(error)
    except FatalError as error:
        console.print(f"check failed: {type(error).__name__}: {escape(str(error))}")
        raise typer.Exit(code=EXIT["failed"]) from None
    if problems_found:
        raise typer.Exit(code=1)


def upgrade_database(*, config: Path | None, store_url: str | None) -> None:
    from connector.store.engine import HEAD, create_store_engine, current_revision, upgrade

    settings = settings_or_exit(config)
    target = store_url or settings.store.url
    created = bootstrap.store_is_new(target)
    engine = create_store_engine(target)
    before = current_revision(engine)
    upgrade(engine)
    if created:
        bootstrap.announce_new_store(target)
    print(
        f"store at revision {HEAD}"
        + (" (already current)" if before == HEAD else f" (was {before or 'empty'})")
    )
    engine.dispose()
