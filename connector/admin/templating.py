"""The one Jinja2 environment of the HTML pages: templates shipped in the package, autoescaping always on."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["CONTENT_SECURITY_POLICY", "environment"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)
"""No script runs and nothing is fetched: inline styles and inline SVG only (sent as a header by ``/admin`` and
as a meta element in the files)."""


@cache
def environment() -> Environment:
    """Autoescape on for every template, whatever its name: CRM-sourced strings (categories, reasons, error
    codes) are text, never markup; an undefined name is an error, not an empty cell."""
    env = Environment(
        loader=PackageLoader("connector.admin", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["csp"] = CONTENT_SECURITY_POLICY
    env.filters["yesno"] = _yes_no
    env.filters["number"] = _number
    return env


def _yes_no(value: object) -> str:
    if value is None:
        return "—"
    return "yes" if value is True else "no" if value is False else str(value)


def _number(value: object) -> str:
    """Thousands separated; a missing count as a dash."""
    if value is None:
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
