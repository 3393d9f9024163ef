"""Validate record writes the way Salesforce does; shared by sobject PATCH, collections and Bulk 2.0.

A failed record yields Salesforce's per-record error (`statusCode`, `message`, `fields`): unknown fields
(INVALID_FIELD), read-only or FLS-hidden fields (INVALID_FIELD_FOR_INSERT_UPDATE), wrong types, over-long
text, restricted picklists, null in a required field (REQUIRED_FIELD_MISSING), converted leads, deleted or
missing records, the org's validation and duplicate rules (`rules`), and injected faults such as
UNABLE_TO_LOCK_ROW. The org's triggers add their values to an update that passes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any

from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.schema import FieldSpec, ObjectSpec
from crm_sandbox.salesforce.soql import SoqlError, parse_datetime
from crm_sandbox.salesforce.state import SalesforceState

RecordError = dict[str, Any]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FAULT_MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "Validation rule failed",
}


def _fault_message(state: SalesforceState, code: str, record: dict[str, Any]) -> str:
    template = state.faults.record_error_message
    if template is not None and code != "UNABLE_TO_LOCK_ROW":
        return template.format_map(defaultdict(str, record))
    return _FAULT_MESSAGES.get(code, code.replace("_", " ").lower())


def error(code: str, message: str, fields: list[str] | None = None) -> RecordError:
    """One entry of a record's `errors` list."""
    return {"statusCode": code, "message": message, "fields": fields or []}


def required_missing(names: list[str]) -> RecordError:
    """REQUIRED_FIELD_MISSING for required fields written as null (or left out of a create)."""
    return error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names)


def required_on_create(obj: ObjectSpec, values: dict[str, Any]) -> RecordError | None:
    """REQUIRED_FIELD_MISSING when a create leaves out a required text, date or reference field (picklists
    and checkboxes have defaults)."""
    given = {name.lower() for name, value in values.items() if value not in (None, "")}
    missing = [
        spec.name
        for spec in obj.fields.values()
        if not spec.nillable and spec.updateable and spec.default is None
        and spec.type not in ("boolean", "picklist") and spec.name.lower() not in given
    ]  # fmt: skip
    return required_missing(missing) if missing else None


def fls_error(names: list[str]) -> RecordError:
    """INVALID_FIELD_FOR_INSERT_UPDATE for fields the user may not write."""
    return error(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        names,
    )


def coerce(spec: FieldSpec, value: Any, *, from_csv: bool = False) -> Any:
    """The stored value for a written one, or raise ValueError with Salesforce's message."""
    if from_csv and isinstance(value, str):
        if value == "#N/A":
            return None
        if spec.type == "boolean":
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{spec.label}: value not of required type: {value}")
            return value.lower() in ("true", "1")
        if spec.type in ("double", "currency"):
            value = float(value)
    if value is None:
        return False if spec.type == "boolean" else None
    kind = spec.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{spec.label}: value not of required type: {value}")
        return value
    if kind in ("double", "currency"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{spec.label}: value not of required type: {value}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{spec.label}: value not of required type: {value}")
    if kind == "date":
        return date.fromisoformat(value[:10])
    if kind == "datetime":
        try:
            return parse_datetime(value)
        except (ValueError, SoqlError):
            raise ValueError(f"{spec.label}: value not of required type: {value}") from None
    if spec.length and len(value) > spec.length:
        raise ValueError(f"{spec.label}: data value too large: (max length={spec.length})")
    return value


Columns = dict[str, tuple[str, FieldSpec | None]]
"""What each written field name resolved to: ("skip" | "unknown" | "locked" | "ok", its field)."""


def _resolve(state: SalesforceState, obj: ObjectSpec, name: str) -> tuple[str, FieldSpec | None]:
    if name.lower() in ("attributes", "id"):
        return "skip", None
    spec = obj.field(name)
    if spec is None or not state.store.visible(obj, spec):
        return ("locked", spec) if spec is not None and spec.fls_managed else ("unknown", None)
    if not spec.updateable or not state.store.visible(obj, spec, edit=True):
        return "locked", spec
    return "ok", spec


def check_values(
    state: SalesforceState, obj: ObjectSpec, values: dict[str, Any], *, from_csv: bool = False,
    columns: Columns | None = None,
) -> tuple[dict[str, Any], RecordError | None]:  # fmt: skip
    """Canonical stored values for a write, or the first error Salesforce would report for it.

    `columns` keeps what each field name resolved to (its field, the user's field-level security) across the
    rows of one Bulk job, whose header is the same for every row."""
    out: dict[str, Any] = {}
    not_writable: list[str] = []
    for name, raw in values.items():
        resolved = columns.get(name) if columns is not None else None
        if resolved is None:
            resolved = _resolve(state, obj, name)
            if columns is not None:
                columns[name] = resolved
        kind, spec = resolved
        if kind == "skip":
            continue
        if spec is None:
            return {}, error(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name]
            )
        if kind == "locked":
            not_writable.append(spec.name)
            continue
        try:
            value = coerce(spec, raw, from_csv=from_csv)
        except ValueError as exc:
            code = "STRING_TOO_LONG" if "too large" in str(exc) else "INVALID_TYPE_ON_FIELD_IN_RECORD"
            return {}, error(code, str(exc), [spec.name])
        if spec.type == "email" and value is not None and not _EMAIL.match(value):
            return {}, error(
                "INVALID_EMAIL_ADDRESS", f"{spec.label}: invalid email address: {value}", [spec.name]
            )
        if value is None and not spec.nillable and spec.type != "boolean":
            return {}, required_missing([spec.name])
        if spec.restricted and value is not None and value not in spec.picklist:
            return {}, error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{spec.label}: bad value for restricted picklist field: {value}",
                [spec.name],
            )
        out[spec.name] = value
    if not_writable:
        return {}, fls_error(not_writable)
    return out, None


def check_update(
    state: SalesforceState, obj: ObjectSpec, record_id: str, values: dict[str, Any], *, from_csv: bool = False,
    columns: Columns | None = None,
) -> tuple[int, dict[str, Any], RecordError | None]:  # fmt: skip
    """(index, canonical values, error) for an update of one record; faults are rolled here."""
    located = state.store.locate(record_id)
    if located is None:
        return (
            -1,
            {},
            error("MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {record_id}", ["Id"]),
        )
    target, index = located
    if target.name != obj.name:
        return (
            -1,
            {},
            error("MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {record_id}", ["Id"]),
        )
    store = state.store
    ruled = any(rule.object.lower() == obj.name.lower() for rule in state.rules.rules)
    if ruled or "isconverted" in obj.fields or not store.surely_live(obj.name, index):
        record: dict[str, Any] | None = store.get(obj.name, index, include_deleted=True)
        if record is None:
            return index, {}, error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if record.get("IsDeleted"):
            return index, {}, error("ENTITY_IS_DELETED", "entity is deleted")
        if record.get("IsConverted"):
            return index, {}, error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    else:  # a live seeded record that no rule reads: nothing above needs it rendered
        record = None
    clean, problem = check_values(state, obj, values, from_csv=from_csv, columns=columns)
    if problem is None and ruled:
        assert record is not None
        saved = {**record, **clean}
        written = list(clean)
        clean.update(state.rules.triggered(state.executor, obj, saved))
        saved.update(clean)
        problem = state.rules.check(state.executor, obj, saved, index=index, written=written)
    if problem is None:
        fault = state.faults.record_error(make_id(obj.key_prefix, index))
        if fault is not None:
            record = record or store.get(obj.name, index, include_deleted=True) or {}
            problem = error(fault, _fault_message(state, fault, record))
    return index, clean, problem
