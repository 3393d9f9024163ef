"""Tooling API `sobjects/CustomField`: add a custom field to an object, invisible until a permission set
grants it; delete it again (its values and field permissions go with it).

A field created through the API has no field-level security in a real org: the integration user gets
INVALID_FIELD on query and INVALID_FIELD_FOR_INSERT_UPDATE on write until FieldPermissions grant it. The
sandbox reproduces that, so the installer's permission-set step is tested.
"""

from __future__ import annotations

import re
from typing import Any

from connector.mapping.load import load_mapping
from connector.mapping.own_fields import OWN_FIELDS, FieldKind, OwnField, field_names, max_length
from connector.mapping.schema import MappingFile, WriteBack
from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.schema import FieldSpec
from crm_sandbox.salesforce.state import ApiError, SalesforceState

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")
_TYPES = {
    "checkbox": "boolean", "text": "string", "longtextarea": "textarea", "textarea": "textarea",
    "picklist": "picklist", "datetime": "datetime", "date": "date", "email": "email", "phone": "phone",
    "number": "double",
}  # fmt: skip


def create_custom_field(state: SalesforceState, call: Call) -> Reply:
    """`POST tooling/sobjects/CustomField` with `FullName` "Object.Name__c" and `Metadata`."""
    payload = call.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("Metadata"), dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "FullName and Metadata are required")
    record_id = add_custom_field(state, str(payload.get("FullName") or ""), payload["Metadata"])
    return Reply(
        status=201, body={"id": record_id, "success": True, "errors": [], "warnings": [], "infos": []}
    )


def add_custom_field(state: SalesforceState, full_name: str, metadata: dict[str, Any]) -> str:
    """Add a custom field without FLS and return its 00N id; ApiError when invalid or a duplicate."""
    obj_name, _, field_name = full_name.partition(".")
    obj = state.store.spec(obj_name)
    if obj is None or obj.tooling:
        raise ApiError(400, "INVALID_INPUT", f"Unable to find object: {obj_name}")
    if not _NAME.match(field_name) or len(field_name) - 3 > 40:
        raise ApiError(400, "INVALID_INPUT", f"Invalid field name: {field_name}", ["FullName"])
    if obj.field(field_name) is not None:
        message = f"There's already a field named {field_name} on {obj.name}."
        raise ApiError(400, "DUPLICATE_DEVELOPER_NAME", message, ["FullName"])
    kind = _TYPES.get(str(metadata.get("type", "")).lower())
    if kind is None or not metadata.get("label"):
        raise ApiError(
            400, "FIELD_INTEGRITY_EXCEPTION", "label and a supported type are required", ["Metadata"]
        )
    spec = FieldSpec(
        name=_canonical(field_name), type=kind, label=str(metadata["label"]),
        length=int(metadata.get("length") or {"string": 255, "textarea": 32768}.get(kind, 0)),
        custom=True, fls_managed=True, nillable=kind != "boolean",
        default=str(metadata.get("defaultValue", "false")).lower() == "true" if kind == "boolean" else None,
        picklist=_picklist(metadata), restricted=bool((metadata.get("valueSet") or {}).get("restricted")),
    )  # fmt: skip
    with state.store.lock:
        obj.add(spec)
        record_id = state.store.create(
            "CustomField",
            {"DeveloperName": spec.name[:-3], "TableEnumOrId": obj.name, "NamespacePrefix": None,
             "FullName": f"{obj.name}.{spec.name}"},
        )  # fmt: skip
    return record_id


def delete_custom_field(state: SalesforceState, call: Call, record_id: str) -> Reply:
    """`DELETE tooling/sobjects/CustomField/{id}`: 204; the field disappears from its object."""
    located = state.store.locate(record_id)
    record = state.store.get_by_id(record_id)
    if located is None or record is None or located[0].name != "CustomField":
        raise not_found()
    obj_name, _, field_name = str(record["FullName"]).partition(".")
    with state.store.lock:
        obj = state.store.spec(obj_name)
        if obj is not None and obj.field(field_name) is not None:
            state.store.drop_field(obj.name, field_name)
        state.store.delete("CustomField", located[1])
    return Reply(status=204)


def installed_fields(writeback: WriteBack) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(name, Tooling metadata) of the connector's own fields as `lawful-crm install` creates them: the
    own-fields table joined with the mapping's names (type, label, length, default, picklist values)."""
    names = field_names(writeback)
    return tuple((names[field.role], _metadata(field, writeback)) for field in OWN_FIELDS)


def _metadata(field: OwnField, writeback: WriteBack) -> dict[str, Any]:
    metadata: dict[str, Any] = {"label": field.label}
    if field.kind is FieldKind.CHECKBOX:
        return metadata | {"type": "Checkbox", "defaultValue": "false"}
    if field.kind is FieldKind.PICKLIST:
        values = [{"fullName": value, "label": label, "default": False} for value, label in field.options]
        value_set = {"restricted": False, "valueSetDefinition": {"sorted": False, "value": values}}
        return metadata | {"type": "Picklist", "valueSet": value_set}
    if field.kind is FieldKind.TEXT:
        length = max_length(field, writeback) or 255
        return metadata | {"type": "Text" if length <= 255 else "LongTextArea", "length": length}
    return metadata | {"type": "DateTime"}


def preinstall_connector_fields(state: SalesforceState, mapping: MappingFile | None = None) -> None:
    """Create the connector's own fields on every object of `mapping` (the shipped Salesforce mapping by
    default), readable and writable: an org after `lawful-crm install`."""
    mapping = mapping if mapping is not None else load_mapping("salesforce")
    for obj in mapping.objects:
        for name, metadata in installed_fields(mapping.writeback):
            add_custom_field(state, f"{obj}.{name}", metadata)
            state.store.grant_all(obj, name)


def _canonical(name: str) -> str:
    return name[:-3] + "__c"


def _picklist(metadata: dict[str, Any]) -> tuple[str, ...]:
    value_set = metadata.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    values = definition.get("value") or []
    return tuple(str(item.get("fullName") or item.get("label")) for item in values if isinstance(item, dict))
