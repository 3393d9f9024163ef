"""List views through the User Interface API (`ui-api/list-info`, API 61.0 and later): create, read, delete.

A list view is metadata: it is created by `POST ui-api/list-info/{Object}` (or the Metadata API), never as an
sObject, though `SELECT ... FROM ListView` finds it. The sandbox keeps each one as a ListView record (Name,
DeveloperName, SobjectType) plus its List Info (filters, columns, visibility), and checks what a real org does:
the version, the object, the API name (unique per object, a valid developer name), that every filtered or shown
field exists and is visible to the user, and the filter operators. Unknown resources answer 404 NOT_FOUND.
"""

from __future__ import annotations

import re
from typing import Any

from crm_sandbox.salesforce.rest import Call, Reply, not_found
from crm_sandbox.salesforce.schema import ObjectSpec
from crm_sandbox.salesforce.state import ApiError, SalesforceState

FIRST_VERSION = (61, 0)
"""`POST ui-api/list-info/{Object}` exists from API 61.0 (Summer '24)."""
OPERATORS = frozenset({
    "Equals", "NotEqual", "LessThan", "GreaterThan", "LessOrEqual", "GreaterOrEqual", "Contains", "NotContain",
    "StartsWith", "Includes", "Excludes", "Within",
})  # fmt: skip
_API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_BOOLEAN_OPERANDS = frozenset({"true", "false", "1", "0"})
_INFO_KEYS = frozenset({
    "listViewApiName", "label", "filteredByInfo", "filterLogicString", "displayColumns", "visibility", "scope",
    "listShares",
})  # fmt: skip


def _supported(state: SalesforceState, call: Call, name: str) -> ObjectSpec:
    major, _, minor = call.version.partition(".")
    spec = state.store.spec(name)
    if (int(major), int(minor or 0)) < FIRST_VERSION or spec is None or spec.tooling:
        raise not_found()
    return spec


def _find(state: SalesforceState, spec: ObjectSpec, api_name: str) -> tuple[int, dict[str, Any]] | None:
    for index in state.store.indexes("ListView"):
        record = state.store.get("ListView", index)
        if record and record["SobjectType"] == spec.name and str(record["DeveloperName"]) == api_name:
            return index, record
    return None


def get_list_info(state: SalesforceState, call: Call, name: str, api_name: str) -> Reply:
    """`GET ui-api/list-info/{Object}/{listViewApiName}`: the List Info, or 404."""
    spec = _supported(state, call, name)
    found = _find(state, spec, api_name)
    if found is None:
        raise not_found()
    return Reply(body=_list_info(state, found[1]))


def create_list_info(state: SalesforceState, call: Call, name: str) -> Reply:
    """`POST ui-api/list-info/{Object}`: 201 with the new list view's List Info."""
    spec = _supported(state, call, name)
    body = call.json()
    if not isinstance(body, dict) or set(body) - _INFO_KEYS:
        raise ApiError(400, "INVALID_INPUT", "The request body is not a valid List Info Post Input")
    api_name, label = str(body.get("listViewApiName") or ""), str(body.get("label") or "")
    if not _API_NAME.match(api_name) or len(api_name) > 40 or not label or len(label) > 40:
        raise ApiError(400, "INVALID_INPUT", "listViewApiName and label (up to 40 characters) are required")
    if _find(state, spec, api_name) is not None:
        raise ApiError(400, "DUPLICATE_DEVELOPER_NAME", "The list view API name is already in use.")
    filters = [_filter(state, spec, item) for item in body.get("filteredByInfo") or []]
    columns = [_visible(state, spec, str(column)) for column in body.get("displayColumns") or ["Name"]]
    visibility = str(body.get("visibility") or "Private")
    if visibility not in ("Private", "Public", "Shared"):
        raise ApiError(400, "INVALID_INPUT", "visibility must be Private, Public or Shared")
    details = {"filters": filters, "columns": columns, "visibility": visibility,
               "logic": body.get("filterLogicString")}  # fmt: skip
    with state.store.lock:
        record_id = state.store.create(
            "ListView", {"Name": label, "DeveloperName": api_name, "SobjectType": spec.name}
        )
        state.list_views[record_id] = details
    record = state.store.get_by_id(record_id)
    assert record is not None
    return Reply(status=201, body=_list_info(state, record))


def delete_list_info(state: SalesforceState, call: Call, name: str, api_name: str) -> Reply:
    """`DELETE ui-api/list-info/{Object}/{listViewApiName}`: 204, or 404 when there is none."""
    spec = _supported(state, call, name)
    found = _find(state, spec, api_name)
    if found is None:
        raise not_found()
    with state.store.lock:
        state.store.delete("ListView", found[0])
        state.list_views.pop(str(found[1]["Id"]), None)
    return Reply(status=204)


def _visible(state: SalesforceState, spec: ObjectSpec, field_name: str) -> str:
    field = spec.field(field_name)
    if field is None or not state.store.visible(spec, field):
        raise ApiError(400, "INVALID_FIELD", f"No such column '{field_name}' on entity '{spec.name}'")
    return field.name


def _filter(state: SalesforceState, spec: ObjectSpec, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, "INVALID_INPUT", "each filteredByInfo entry must be an object")
    name = _visible(state, spec, str(item.get("fieldApiName") or ""))
    operator, operands = item.get("operator"), item.get("operandLabels")
    if operator not in OPERATORS or not isinstance(operands, list) or not operands:
        raise ApiError(400, "INVALID_INPUT", "a filter needs a known operator and operand labels")
    field = spec.field(name)
    assert field is not None
    if field.type == "boolean" and any(str(value).lower() not in _BOOLEAN_OPERANDS for value in operands):
        raise ApiError(400, "INVALID_INPUT", f"{field.label}: a checkbox is filtered on True or False")
    return {"fieldApiName": name, "label": field.label, "operandLabels": [str(v) for v in operands],
            "operator": operator}  # fmt: skip


def _list_info(state: SalesforceState, record: dict[str, Any]) -> dict[str, Any]:
    details = state.list_views.get(str(record["Id"]), {})
    spec = state.store.spec(str(record["SobjectType"]))
    assert spec is not None
    columns = []
    for name in details.get("columns", []):
        field = spec.field(name)
        label = field.label if field else name
        columns.append({"fieldApiName": name, "label": label, "lookupId": None, "searchable": True,
                        "sortable": True})  # fmt: skip
    return {
        "cloneable": True, "createable": True, "deletable": True, "displayColumns": columns,
        "filterLogicString": details.get("logic"), "filteredByInfo": details.get("filters", []),
        "label": record["Name"],
        "listReference": {"id": record["Id"], "listViewApiName": record["DeveloperName"],
                          "objectApiName": spec.name, "type": "listView"},
        "orderedByInfo": [], "updateable": True, "visibility": details.get("visibility", "Private"),
        "visibilityEditable": True,
    }  # fmt: skip
