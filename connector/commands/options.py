"""Command-line options shared by several command groups, spelt once so their help reads the same everywhere.

Only typer is imported, so that ``lawful-crm --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ConfigOption", "JsonOption", "StoreOption"]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Configuration file (default: ./lawful-crm.toml).", show_default=False),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL (default: \\[store] url, else sqlite:///lawful-crm.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
