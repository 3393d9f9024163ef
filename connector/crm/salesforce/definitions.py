"""The connector's own Salesforce fields and permission set, as Tooling API metadata. Pure.

Field names come from the mapping's `writeback` section; types, labels, help texts and picklist values from
the own-fields table (`connector.mapping.own_fields`). The Lawful Use picklist lists the canonical LawfulUse
values; it is not restricted, so a value added by a later version of the policy can be written before the
field is updated. The reason is a Text field of the mapping's
`reason_max_length` (a Long Text Area above 255 characters, which SOQL cannot group or filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.mapping.own_fields import OWN_FIELDS, FieldKind, OwnField, field_names, max_length
from connector.mapping.schema import MappingFile, WriteBack

__all__ = ["PERMISSION_SET", "PERMISSION_SET_LABEL", "FieldDefinition", "field_definitions"]

PERMISSION_SET = "Lawful_CRM_Integration"
PERMISSION_SET_LABEL = "Lawful CRM Integration"
_DESCRIPTION = "Managed by lawful-crm. Do not edit by hand: the next sync overwrites it."
_OWNED = "Set by lawful-crm."


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


def _type(field: OwnField, writeback: WriteBack) -> dict[str, Any]:
    if field.kind is FieldKind.CHECKBOX:
        return {"type": "Checkbox", "defaultValue": "false"}
    if field.kind is FieldKind.PICKLIST:
        values = [{"fullName": value, "label": label, "default": False} for value, label in field.options]
        return {
            "type": "Picklist",
            "valueSet": {"restricted": False, "valueSetDefinition": {"sorted": False, "value": values}},
        }
    if field.kind is FieldKind.TEXT:
        length = max_length(field, writeback) or 255
        if length <= 255:
            return {"type": "Text", "length": length}
        return {"type": "LongTextArea", "length": length, "visibleLines": 3}
    return {"type": "DateTime"}


def field_definitions(mapping: MappingFile) -> tuple[FieldDefinition, ...]:
    """The own fields of every mapped object, in the order of the own-fields table."""
    back = mapping.writeback
    names = field_names(back)
    return tuple(
        FieldDefinition(
            object_type,
            names[field.role],
            {
                "label": field.label,
                "description": _DESCRIPTION,
                "inlineHelpText": f"{field.help} {_OWNED}",
                **_type(field, back),
            },
        )
        for object_type in mapping.objects
        for field in OWN_FIELDS
    )
