"""``lawful-crm report --html FILE``: the run report as one self-contained HTML file (no network needed to view it).

The same page ``serve`` shows at ``/admin``: tiles per CRM, charts of the runs and of decision categories, tables
of runs, flag transitions, errors and dead letters, built from the store's counts only.
"""

from __future__ import annotations

from pathlib import Path

from connector import bootstrap
from connector.admin.overview import overview_source
from connector.admin.render import render_report
from connector.commands.common import open_store_or_exit, settings_or_exit

__all__ = ["write_report"]


def configured_names(settings: bootstrap.Settings) -> list[str]:
    """The CRMs the configuration has a table for, in the usual order."""
    return [name for name in bootstrap.CRMS if getattr(settings, name) is not None]


def write_report(*, html: Path, config: Path | None, store_url: str | None) -> None:
    """Gather the overview from the store and write it to ``html``."""
    settings = settings_or_exit(config)
    store = open_store_or_exit(settings, store_url)
    try:
        overview = overview_source(settings, store, configured_names(settings))()
    finally:
        store.close()
    html.write_text(render_report(overview), encoding="utf-8")
    runs = sum(len(view.runs) for view in overview.crms)
    print(f"run report of {len(overview.crms)} CRM(s), {runs} run(s) written to {html}")
