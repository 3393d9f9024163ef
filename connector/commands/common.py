"""What every CRM-facing command shares: reading the configuration, reporting configuration problems, logging."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from connector import bootstrap
from connector.errors import ConfigurationError

if TYPE_CHECKING:  # the store (and its database library) loads only for the commands that open it
    from connector.store import Store

__all__ = [
    "EXIT",
    "configure_logging",
    "fail_configuration",
    "open_store_or_exit",
    "settings_or_exit",
    "store_or_exit",
]

EXIT = {
    "completed": 0,
    "record_failures": 1,
    "usage": 2,
    "stopped": 3,
    "interrupted": 3,
    "refused": 4,
    "failed": 5,
}
"""Exit statuses of ``sync`` (documented in the README)."""


def configure_logging(*, level: int = logging.INFO) -> None:
    """Plain log lines on stderr: ids, counts and rule ids only (no contact data is ever logged)."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "httpx", "hubspot", "simple_salesforce", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail_configuration(error: ConfigurationError) -> NoReturn:
    print(f"configuration error: {error}", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    raise typer.Exit(code=EXIT["usage"])


def settings_or_exit(config: Path | None) -> bootstrap.Settings:
    """The validated configuration, or every problem printed and exit status 2."""
    try:
        return bootstrap.load(config)
    except ConfigurationError as error:
        fail_configuration(error)


def store_or_exit(config: Path | None, store_url: str | None) -> Store:
    """The store the configuration (or ``--store``) names, opened and migrated; exit 2 on a bad configuration."""
    return open_store_or_exit(settings_or_exit(config), store_url)


def open_store_or_exit(settings: bootstrap.Settings, store_url: str | None) -> Store:
    """The store ``--store`` or the settings name, opened; exit 2 naming it when it cannot be opened or written
    (a read-only or missing directory, a full disk)."""
    try:
        return bootstrap.store_for(settings, store_url)
    except ConfigurationError as error:
        fail_configuration(error)
