"""Human-readable explanations of Decisions and of the rule catalogue: plain text, or rich on a terminal.

On a terminal every dynamic text goes to rich as a ``Text``, never as a markup string: rule texts hold
``[contested]`` and ``[uncertain: …]``, which rich would read as markup tags and drop, and ids are input.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from connector.models import ContactFacts, Decision
from connector.policy import RuleInfo

__all__ = ["explain_plain", "explain_rich", "rules_plain", "rules_rich"]

_CHANNEL = {"phone": "call", "email": "e-mail", "both": "both"}


def _verdict(*, allowed: bool) -> str:
    return "ALLOWED" if allowed else "NOT ALLOWED"


def _header(decision: Decision, facts: ContactFacts | None) -> str:
    if facts is None:
        return f"Contact {decision.id}"
    return f"Contact {decision.id} ({facts.country or 'country unknown'}, {facts.entity_type.value})"


def explain_plain(decision: Decision, facts: ContactFacts | None = None) -> str:
    """The explanation as plain text lines, for pipes, files and e-mails to a DPO."""
    lines = [
        _header(decision, facts),
        f"  Sales call:      {_verdict(allowed=not decision.do_not_cold_call)} (basis: {decision.basis.call.value})",
        f"  Marketing email: {_verdict(allowed=decision.email_allowed)} (basis: {decision.basis.email.value})",
        f"  Category:        {decision.lawful_use.value}",
        f"  Review needed:   {'yes' if decision.review_needed else 'no'}",
        "  Why:",
    ]
    for reason in decision.reasons:
        lines.append(f"    {reason.rule:<3} [{_CHANNEL[reason.channel]}] {reason.text}")
        lines.append(f"        ({reason.citation})")
    actions = ", ".join(decision.required_actions) or "none"
    lines.append(f"  Required actions: {actions}")
    lines.append(f"  Policy: {decision.policy}")
    return "\n".join(lines)


def explain_rich(console: Console, decision: Decision, facts: ContactFacts | None = None) -> None:
    """The same explanation as a panel, with colours, for a terminal."""

    def flag(*, allowed: bool) -> Text:
        return Text(_verdict(allowed=allowed), style="bold green" if allowed else "bold red")

    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        "Sales call", flag(allowed=not decision.do_not_cold_call), Text(f"basis: {decision.basis.call.value}")
    )
    summary.add_row(
        "Marketing email", flag(allowed=decision.email_allowed), Text(f"basis: {decision.basis.email.value}")
    )
    summary.add_row("Category", Text(decision.lawful_use.value), "")
    review = Text("yes", style="bold yellow") if decision.review_needed else Text("no")
    summary.add_row("Review needed", review, "")
    why = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    why.add_column("rule")
    why.add_column("for")
    why.add_column("reason")
    why.add_column("citation", style="dim")
    for reason in decision.reasons:
        why.add_row(Text(reason.rule), _CHANNEL[reason.channel], Text(reason.text), Text(reason.citation))
    actions = Text("Required actions: " + (", ".join(decision.required_actions) or "none"))
    body = Group(summary, Text(""), why, Text(""), actions, Text(decision.policy, style="dim"))
    console.print(Panel(body, title=Text(_header(decision, facts)), title_align="left"))


def rules_plain(rules: Iterable[RuleInfo]) -> str:
    """The rule catalogue as tab-separated lines with a header."""
    lines = ["id\tchannel\tcountry\tdates\tcitation\tsummary"]
    for r in rules:
        lines.append(f"{r.id}\t{r.channel}\t{r.country}\t{_dates(r)}\t{r.citation}\t{r.summary}")
    return "\n".join(lines)


def rules_rich(console: Console, rules: Iterable[RuleInfo]) -> None:
    table = Table(title="lawful-use rule set", show_lines=False)
    for column in ("id", "channel", "country", "dates", "citation", "summary"):
        table.add_column(column, overflow="fold")
    for r in rules:
        table.add_row(
            *map(Text, (r.id, r.channel, r.country, _dates(r), r.citation)),
            Text(r.summary + (" [contested]" if r.contested else "")),
        )
    console.print(table)


def _dates(rule: RuleInfo) -> str:
    if rule.effective_from and rule.effective_until:
        return f"{rule.effective_from}..{rule.effective_until}"
    if rule.effective_from:
        return f"from {rule.effective_from}"
    if rule.effective_until:
        return f"until {rule.effective_until}"
    return "always"
