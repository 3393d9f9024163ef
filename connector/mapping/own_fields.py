"""The connector's own fields: the one table behind "lawful-crm writes only its own fields". Pure.

Each field has a role; the mapping's ``writeback`` section names the CRM field for each role (an admin may
rename them). Install definitions (Salesforce and HubSpot), the write-back allow-list, echo suppression, the
flag transitions of a run summary, the blast-radius guard and the sandbox's pre-installed fields all derive
from ``OWN_FIELDS`` joined with those names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from connector.mapping.schema import WriteBack
from connector.models import Decision, LawfulUse

__all__ = [
    "FLAGS",
    "OWN_FIELDS",
    "ROLES",
    "FieldKind",
    "OwnField",
    "Role",
    "decided_value",
    "field_names",
    "flag_names",
    "max_length",
    "written_names",
]

Role = Literal["do_not_cold_call", "email_allowed", "lawful_use", "reason", "review", "checked"]


class FieldKind(StrEnum):
    CHECKBOX = "checkbox"
    PICKLIST = "picklist"
    TEXT = "text"
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class OwnField:
    """One field the connector owns, whatever the CRM calls it."""

    role: Role
    kind: FieldKind
    label: str
    help: str
    """What the value means, in one or two sentences a salesperson understands."""
    decision_field: str | None = None
    """The Decision attribute written into it; None for values the write-back computes (reason, checked)."""
    permissive: bool | None = None
    """For a flag: the value that allows a contact (a call, an e-mail); None for a field that is no flag."""
    max_length: int | None = None
    """For text: the default length; the mapping's ``reason_max_length`` overrides it."""
    options: tuple[tuple[str, str], ...] = ()
    """For a picklist: (value, label), in order."""

    @property
    def flag(self) -> bool:
        return self.permissive is not None


def _option_label(value: str) -> str:
    return value.replace("_", " ").capitalize()


OWN_FIELDS: tuple[OwnField, ...] = (
    OwnField(
        "do_not_cold_call",
        FieldKind.CHECKBOX,
        "Do Not Cold Call",
        "Yes: no unsolicited sales call to this person (the lawful use reason says why).",
        decision_field="do_not_cold_call",
        permissive=False,
    ),
    OwnField(
        "email_allowed",
        FieldKind.CHECKBOX,
        "Email Allowed",
        "Yes: marketing e-mail (newsletters, offers) to this person is allowed under the applicable law.",
        decision_field="email_allowed",
        permissive=True,
    ),
    OwnField(
        "lawful_use",
        FieldKind.PICKLIST,
        "Lawful Use",
        "The ground on which this person may be approached for marketing: the strongest legal basis, else "
        "where the data came from.",
        decision_field="lawful_use",
        options=tuple((use.value, _option_label(use.value)) for use in LawfulUse),
    ),
    OwnField(
        "reason",
        FieldKind.TEXT,
        "Lawful Use Reason",
        "The rules that decided the flags, in plain words, with their legal citations.",
        max_length=255,
    ),
    OwnField(
        "review",
        FieldKind.CHECKBOX,
        "Lawful Use Review",
        "Yes: the data was incomplete or contradictory; a person should check this record.",
        decision_field="review_needed",
    ),
    OwnField(
        "checked",
        FieldKind.DATETIME,
        "Lawful Use Checked",
        "When lawful-crm last decided this record's flags.",
    ),
)
ROLES: tuple[Role, ...] = tuple(field.role for field in OWN_FIELDS)
FLAGS: tuple[OwnField, ...] = tuple(field for field in OWN_FIELDS if field.flag)


def field_names(writeback: WriteBack) -> dict[Role, str]:
    """Role -> the CRM field the mapping's ``writeback`` section names for it, in the table's order."""
    return dict(_names_of(writeback))


_last_names: list[tuple[WriteBack, dict[Role, str]]] = []
"""The names of the write-back section asked about last (a sync asks for every record, of one mapping)."""


def _names_of(writeback: WriteBack) -> dict[Role, str]:
    last = _last_names[0] if _last_names else None
    if last is not None and last[0] is writeback:
        return last[1]
    names = {field.role: str(getattr(writeback, field.role)) for field in OWN_FIELDS}
    _last_names[:] = [(writeback, names)]
    return names


def written_names(writeback: WriteBack) -> tuple[str, ...]:
    """Every field lawful-crm ever writes: its own fields, then the mirrored standard fields."""
    return tuple(dict.fromkeys((*field_names(writeback).values(), *writeback.mirror)))


def flag_names(writeback: WriteBack) -> dict[str, Role]:
    """CRM field name -> role, for the flags only (the transitions a run summary counts)."""
    names = field_names(writeback)
    return {names[field.role]: field.role for field in FLAGS}


def max_length(field: OwnField, writeback: WriteBack) -> int | None:
    """The length a text field is created with: the mapping's ``reason_max_length`` for the reason."""
    return writeback.reason_max_length if field.role == "reason" else field.max_length


def decided_value(field: OwnField, decision: Decision) -> Any:
    """The value of ``field`` a decision implies (enums as their value); None for computed fields."""
    if field.decision_field is None:
        return None
    value = getattr(decision, field.decision_field)
    return value.value if isinstance(value, StrEnum) else value
