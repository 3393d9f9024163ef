"""The run report as one self-contained HTML document: inline styles, inline SVG charts, no script, no fetch."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from connector.admin.charts import categories_chart, runs_chart
from connector.admin.overview import Overview
from connector.admin.templating import environment

__all__ = ["render_report"]


@dataclass(frozen=True, slots=True)
class _Charts:
    runs: Markup
    categories: Markup


def render_report(overview: Overview) -> str:
    """The HTML of ``lawful-crm report --html`` and of the ``/admin`` page."""
    charts = {
        view.crm: _Charts(
            runs=runs_chart(view.runs, title=f"{view.crm}: last {len(view.runs)} runs"),
            categories=categories_chart(view.categories, title=f"{view.crm}: decision categories"),
        )
        for view in overview.crms
    }
    return environment().get_template("report.html.j2").render(o=overview, charts=charts)
