"""The sync's live progress bar and log lines share the terminal: a log line is printed above the bar, never
through it, and goes back to stderr when the bar stops."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from rich.console import Console

from connector.commands.summary import SyncProgress


def test_a_log_line_while_the_bar_is_live_is_printed_above_it(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, stderr = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    handler = logging.StreamHandler(stderr)  # what configure_logging sets up
    logging.getLogger().addHandler(handler)
    log = logging.getLogger("lawful_crm.sync")
    try:
        progress = SyncProgress(Console(file=terminal, force_terminal=True, width=120))
        log.warning("write failed for Contact 003A: UNABLE_TO_LOCK_ROW")
        progress.stop()
        assert "write failed for Contact 003A" in terminal.getvalue(), "printed by the bar's console"
        assert stderr.getvalue() == "", "not written past the bar"
        log.warning("after the bar")
        assert "after the bar" in stderr.getvalue() and handler.stream is stderr, "put back when it stops"
    finally:
        logging.getLogger().removeHandler(handler)


def test_without_a_terminal_no_handler_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    handler = logging.StreamHandler(stderr)
    logging.getLogger().addHandler(handler)
    try:
        progress = SyncProgress(Console(file=io.StringIO(), force_terminal=False))
        assert handler.stream is stderr
        progress.stop()
    finally:
        logging.getLogger().removeHandler(handler)
