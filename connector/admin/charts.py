"""Server-side SVG charts (pygal) for the admin's view: inline, scriptless, no network.

pygal draws the chart as an SVG tree and escapes every label; it also adds a script (its tooltips and an inline
configuration holding the labels). The pages run no script, so every script element is removed from the tree
before it is serialised, and no external one is ever referenced.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.etree import etree
from pygal.style import Style

__all__ = ["categories_chart", "runs_chart"]

# pygal appends a legacy import hook for its map plugins to sys.meta_path (find_module only): Python 3.11 warns
# about it on every import that misses, 3.12 ignores it. No map is used here, so the hook is taken out again.
sys.meta_path[:] = [hook for hook in sys.meta_path if not isinstance(hook, pygal.PluginImportFixer)]

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#5b6775",
    font_family="system-ui, sans-serif",
    colors=("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#64748b"),
    value_font_size=11,
    label_font_size=11,
    legend_font_size=12,
)
_COMMON: dict[str, Any] = {
    "style": _STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "explicit_size": False,
    "width": 640,
    "height": 320,
    "print_values": True,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 4,
    "show_y_guides": True,
    "include_x_axis": True,
    "no_data_text": "no runs yet",
}


def _scriptless(chart: Any) -> Markup:
    """The chart's SVG without any script element (pygal escapes labels; the tree is serialised as is)."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return Markup(etree.tostring(root, encoding="unicode"))


def runs_chart(runs: Sequence[Mapping[str, Any]], *, title: str) -> Markup:
    """Records read and written, flags opened and closed, per run (oldest left); ``runs`` newest first."""
    chart = pygal.Bar(title=title, x_title="run", **_COMMON)
    ordered = list(reversed(runs))
    chart.x_labels = [str(run["id"]) for run in ordered]
    chart.add("records read", [run["read"] for run in ordered])
    chart.add("records written", [run["written"] for run in ordered])
    chart.add("flags opened", [run["flags"]["opened"] for run in ordered])
    chart.add("flags closed", [run["flags"]["closed"] for run in ordered])
    return _scriptless(chart)


def categories_chart(categories: Mapping[str, int], *, title: str) -> Markup:
    """Records under management by the category of their current decision, largest first."""
    chart = pygal.HorizontalBar(title=title, show_legend=False, **_COMMON)
    ordered = sorted(categories.items(), key=lambda item: (-item[1], item[0]))
    chart.x_labels = [name for name, _ in ordered]
    chart.add("records", [count for _, count in ordered])
    return _scriptless(chart)
