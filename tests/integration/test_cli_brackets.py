"""Text in square brackets reaches the reader: rich must never read "[contested]", "[phone]" or "[store]" as markup.

Rule texts mark contested and uncertain readings in brackets, help texts name configuration tables in brackets,
and ids are input: rich would drop the first two as unknown tags and crash on an id such as ``x[/i]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from connector.cli import app
from connector.models import ContactFacts
from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, open_store
from tests.conftest import NOW

WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BRACKETED = re.compile(r"\\?\[[^\[\]\n]+\]")

# A conservative L1 case: a named person at a Dutch company, from a purchased list, with no assessment on file.
CONTESTED = {
    "id": "c9[/i]",
    "country": "NL",
    "entity_type": "business",
    "sources": [{"kind": "purchased_list"}],
    "email": {"kind": "named_business"},
    "call_target": "company_line_named",
}


def flat(text: str) -> str:
    """Output as one line of words: colour codes, box-drawing borders and line wrapping removed."""
    text = ANSI.sub("", text)
    text = re.sub(r"[\u2500-\u257f]", " ", text)
    return re.sub(r"\s+", " ", text)


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI with its argument path, the top level first."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, (*path, name))


def bracketed_help(command: Any) -> set[str]:
    """Every bracketed phrase the command's own help texts hold, as the reader should see it (unescaped)."""
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    return {match.lstrip("\\") for text in texts for match in BRACKETED.findall(text)}


ALL_COMMANDS = list(commands(typer.main.get_command(app)))


@pytest.mark.parametrize(
    ("path", "command"), ALL_COMMANDS, ids=[" ".join(p) or "lawful-crm" for p, _ in ALL_COMMANDS]
)
def test_every_help_page_shows_the_bracketed_text_of_its_help(path: tuple[str, ...], command: Any) -> None:
    """Each command's --help renders and keeps every bracketed phrase of its help texts."""
    result = CliRunner().invoke(app, [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    for phrase in bracketed_help(command):
        assert phrase in shown, f"{' '.join(path)} --help lost {phrase!r}"


@pytest.mark.parametrize(
    "path",
    [
        ("sync",),
        ("audit", "show"),
        ("audit", "export"),
        ("forget",),
        ("queue", "show"),
        ("queue", "retry"),
        ("serve",),
    ],
)
def test_the_store_option_names_its_configuration_table(path: tuple[str, ...]) -> None:
    """The --store default reads "[store] url", not "default:  url"."""
    shown = flat(CliRunner().invoke(app, [*path, "--help"], env=WIDE).output)
    assert "default: [store] url, else sqlite:///lawful-crm.db" in shown


def test_serve_help_names_the_webhooks_table() -> None:
    shown = flat(CliRunner().invoke(app, ["serve", "--help"], env=WIDE).output)
    assert "[webhooks] public_base_url" in shown


def test_explain_on_a_terminal_keeps_contested_and_the_channel() -> None:
    """The rich panel shows "[contested]" in L1's text, and an id that looks like a closing tag as it is."""
    result = CliRunner().invoke(
        app,
        ["explain", "--now", NOW.isoformat(), "--profile", "conservative"],
        input=json.dumps(CONTESTED) + "\n",
        env={**WIDE, "FORCE_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.output, "rendered as on a terminal"
    shown = flat(result.output)
    assert "Contact c9[/i] (NL, business)" in shown
    assert "L1" in shown and "[contested]" in shown


def test_explain_piped_keeps_contested_and_the_channel() -> None:
    result = CliRunner().invoke(
        app, ["explain", "--now", NOW.isoformat()], input=json.dumps(CONTESTED) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "[contested]" in result.output and "L1  [call]" in result.output


def test_rules_on_a_terminal_mark_contested_rules() -> None:
    result = CliRunner().invoke(app, ["rules"], env={**WIDE, "FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "[contested]" in flat(result.output)


def test_audit_show_keeps_contested_and_the_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit show` prints a stored contested decision with its "[contested]" text and "[phone]" channel."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    facts = ContactFacts.model_validate(CONTESTED)
    decision = evaluate(facts, now=NOW, settings=PolicySettings())
    assert any("[contested]" in r.text for r in decision.reasons), "the case must reach a contested rule"
    store = open_store(url)
    at = datetime(2026, 11, 28, 12, tzinfo=UTC)
    run_id = store.runs.start("salesforce", "full", policy_id=decision.policy, now=at)
    entry = AuditEntry("Contact", facts.id, facts, decision, "written")
    store.audit.record("salesforce", run_id, [entry], now=at)
    store.close()
    result = CliRunner().invoke(
        app, ["audit", "show", "--crm", "salesforce", facts.id, "--store", url], env=WIDE
    )
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    assert "salesforce c9[/i]: 1 decision(s)" in shown
    assert "[contested]" in shown and "L1 [phone]" in shown
