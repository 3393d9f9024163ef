"""Decision -> the connector's own CRM field values, in each CRM's native representation. Pure.

Salesforce takes JSON booleans and ISO datetimes; HubSpot stores every property as a string (``"true"``,
``"false"``, ISO datetime with milliseconds), so values are produced exactly as each CRM returns them and a
second run over unchanged data compares equal and writes nothing. ``checked`` is a timestamp: it is written
with the other fields, never on its own. Mirrored standard fields are one-way: set, never cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from connector.mapping.own_fields import OWN_FIELDS, decided_value, field_names
from connector.mapping.schema import WriteBack
from connector.models import CrmName, Decision, Reason
from connector.policy import CATALOGUE

__all__ = [
    "changed_fields",
    "checked_value",
    "mirror_values",
    "reason_text",
    "same_value",
    "written_values",
]

_ELLIPSIS = "…"
_SUMMARIES = {info.id: info.summary for info in CATALOGUE}


def _channel_summary(label: str, *, allowed: bool, reasons: tuple[Reason, ...], channel: str) -> str:
    rules = [r for r in reasons if r.channel in (channel, "both")]
    cited = ", ".join(dict.fromkeys(f"{r.rule} {r.citation}" for r in rules)) or "no rule"
    return f"{label} {'yes' if allowed else 'no'} ({cited})"


def reason_text(decision: Decision, *, max_length: int) -> str:
    """A one-line reason a salesperson can read in the CRM: verdict and rule per channel, then the why.

    Built from the rules' fixed summaries, not the decision's dated texts, so that it changes only when the
    decision does (a checkbox opt-out is dated by the record's last change, which our own write moves). Many
    records share one: it is made once per distinct verdict and reasons while they stay among the recent ones.
    """
    return _reason_text(
        decision.reasons,
        max_length,
        do_not_cold_call=decision.do_not_cold_call,
        email_allowed=decision.email_allowed,
        review_needed=decision.review_needed,
    )


@lru_cache(maxsize=2048)
def _reason_text(
    reasons: tuple[Reason, ...],
    max_length: int,
    *,
    do_not_cold_call: bool,
    email_allowed: bool,
    review_needed: bool,
) -> str:
    call = _channel_summary("Call", allowed=not do_not_cold_call, reasons=reasons, channel="phone")
    email = _channel_summary("E-mail", allowed=email_allowed, reasons=reasons, channel="email")
    text = f"{call}. {email}."
    if review_needed:
        text += " Review needed."
    deciding = next((r for r in reasons if r.channel in ("both", "phone")), None)
    if deciding is not None:
        text += f" {_SUMMARIES.get(deciding.rule, deciding.text)}"
    if len(text) > max_length:
        text = text[: max_length - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return text


def _native(value: Any, crm: CrmName) -> Any:
    if crm == "hubspot":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return value


def written_values(decision: Decision, writeback: WriteBack, crm: CrmName) -> dict[str, Any]:
    """The own fields' wanted values, keyed by CRM field name (without ``checked`` and mirrors)."""
    names = field_names(writeback)
    wanted: dict[str, Any] = {}
    for field in OWN_FIELDS:
        if field.role == "reason":
            wanted[names[field.role]] = reason_text(decision, max_length=writeback.reason_max_length)
        elif field.decision_field is not None:
            wanted[names[field.role]] = decided_value(field, decision)
    return {field: _native(value, crm) for field, value in wanted.items()}


def mirror_values(decision: Decision, writeback: WriteBack, crm: CrmName) -> dict[str, Any]:
    """Standard fields the admin asked to mirror, only where the decision sets them (never clears)."""
    raised = {
        "do_not_cold_call": decision.do_not_cold_call,
        "not_email_allowed": not decision.email_allowed,
    }
    on = _native(value=True, crm=crm)
    return {field: on for field, source in writeback.mirror.items() if raised[source]}


@lru_cache(maxsize=16)
def checked_value(now: datetime, crm: CrmName) -> Any:
    """The ``checked`` stamp of a write at ``now``: one string for a page's records, which share ``now``."""
    return _native(now, crm)


def _canonical(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def same_value(current: Any, wanted: Any) -> bool:
    """Whether a field's current CRM value already equals the wanted one (``""``/None and bool spellings)."""
    if type(current) is type(wanted) and current == wanted:  # the same spelling: the usual case
        return True
    return bool(_canonical(current) == _canonical(wanted))


def changed_fields(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in wanted.items() if not same_value(current.get(field), value)}
