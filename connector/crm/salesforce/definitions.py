"""The connector's own Salesforce fields and permission set, as Tooling API metadata. Pure.

Field names come from the mapping's `writeback` section, labels and help texts from the field's role. The
Lawful Use picklist lists the canonical LawfulUse values; it is not restricted, so a value added by a later
version of the policy can be written before the field is updated. The reason is a Text field of the mapping's
`reason_max_length` (a Long Text Area above 255 characters, which SOQL cannot group or filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.mapping.schema import MappingFile
from connector.models import LawfulUse

__all__ = ["PERMISSION_SET", "PERMISSION_SET_LABEL", "FieldDefinition", "field_definitions"]

PERMISSION_SET = "Lawful_CRM_Integration"
PERMISSION_SET_LABEL = "Lawful CRM Integration"
_DESCRIPTION = "Managed by lawful-crm. Do not edit by hand: the next sync overwrites it."
_HELP = {
    "do_not_cold_call": "Set by lawful-crm: do not call this person for marketing (see Lawful Use Reason).",
    "email_allowed": "Set by lawful-crm: marketing e-mail to this person is allowed under the applicable law.",
    "lawful_use": "Set by lawful-crm: the ground on which this person may be approached for marketing.",
    "reason": "Set by lawful-crm: the rules that decided the flags, in plain words.",
    "review": "Set by lawful-crm: the data was incomplete or contradictory; a person should check this record.",
    "checked": "Set by lawful-crm: when the flags were last decided.",
}
_LABELS = {
    "do_not_cold_call": "Do Not Cold Call", "email_allowed": "Email Allowed", "lawful_use": "Lawful Use",
    "reason": "Lawful Use Reason", "review": "Lawful Use Review", "checked": "Lawful Use Checked",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One custom field to create on one object."""

    object_type: str
    name: str
    metadata: dict[str, Any]

    @property
    def full_name(self) -> str:
        """`Contact.Do_Not_Cold_Call__c`: the Tooling API FullName and the FieldPermissions Field."""
        return f"{self.object_type}.{self.name}"


def _checkbox() -> dict[str, Any]:
    return {"type": "Checkbox", "defaultValue": "false"}


def _picklist() -> dict[str, Any]:
    values = [
        {"fullName": use.value, "label": use.value.replace("_", " ").capitalize(), "default": False}
        for use in LawfulUse
    ]
    return {
        "type": "Picklist",
        "valueSet": {"restricted": False, "valueSetDefinition": {"sorted": False, "value": values}},
    }


def _text(length: int) -> dict[str, Any]:
    if length <= 255:
        return {"type": "Text", "length": length}
    return {"type": "LongTextArea", "length": length, "visibleLines": 3}


def field_definitions(mapping: MappingFile) -> tuple[FieldDefinition, ...]:
    """The write-back fields of every mapped object, in the order of the mapping's `writeback` section."""
    back = mapping.writeback
    kinds: dict[str, tuple[str, dict[str, Any]]] = {
        "do_not_cold_call": (back.do_not_cold_call, _checkbox()),
        "email_allowed": (back.email_allowed, _checkbox()),
        "lawful_use": (back.lawful_use, _picklist()),
        "reason": (back.reason, _text(back.reason_max_length)),
        "review": (back.review, _checkbox()),
        "checked": (back.checked, {"type": "DateTime"}),
    }
    return tuple(
        FieldDefinition(
            object_type,
            name,
            {"label": _LABELS[role], "description": _DESCRIPTION, "inlineHelpText": _HELP[role], **metadata},
        )
        for object_type in mapping.objects
        for role, (name, metadata) in kinds.items()
    )
