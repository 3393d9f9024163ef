"""REST resources under `/services/data/vXX.X/`: query, sobjects, describe, collections, limits.

Each handler takes the org state and a parsed `Call` and returns a `Reply`; `app` does HTTP, auth, quota and
faults around them. Errors are raised as `ApiError` and answered with Salesforce's JSON list body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm_sandbox.salesforce.aggregate import aggregate
from crm_sandbox.salesforce.ids import make_id, normalize_id
from crm_sandbox.salesforce.query import format_value
from crm_sandbox.salesforce.schema import ObjectSpec
from crm_sandbox.salesforce.soql import SoqlError, parse, parse_datetime
from crm_sandbox.salesforce.state import ApiError, SalesforceState
from crm_sandbox.salesforce.writes import check_update, check_values, error, required_on_create

_MAX_COLLECTION = 200
_METADATA = frozenset({"ListView"})
"""Objects that are metadata: queryable, but written only through their own APIs."""
_COLLECTION_KEYS = ("allOrNone", "records")
REPLICATION_DAYS = 30
"""getDeleted and getUpdated answer for the last 30 days only."""
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(slots=True)
class Call:
    """One API request, reduced to what handlers need."""

    method: str
    version: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """The JSON body, or a 400 JSON_PARSER_ERROR."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ApiError(
                400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value"
            ) from None


@dataclass(slots=True)
class Reply:
    """A handler's answer: status, JSON-able body (None for no content) or raw text, extra headers."""

    status: int = 200
    body: Any = None
    text: str | None = None
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def not_found() -> ApiError:
    """Salesforce's 404 for an unknown resource."""
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def sobject(state: SalesforceState, name: str, *, tooling: bool = False) -> ObjectSpec:
    """The object named in a path, or 404 NOT_FOUND."""
    spec = state.store.spec(name)
    if spec is None or spec.tooling != tooling:
        raise not_found()
    return spec


# -- query ---------------------------------------------------------------------------------------------------
def query(state: SalesforceState, call: Call, *, include_deleted: bool, tooling: bool = False) -> Reply:
    """`query/?q=` and `queryAll/?q=`: the first page and a locator for the rest."""
    text = call.params.get("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string is required (q)")
    try:
        parsed = parse(text, today=state.store.clock().date())
        spec = state.executor.object(parsed.sobject)
        if spec.tooling != tooling:
            state.executor.object(f"{parsed.sobject}__unsupported")
        if parsed.grouped:
            rows = aggregate(state.executor, parsed, include_deleted=include_deleted)
            return Reply(body={"totalSize": len(rows), "done": True, "records": rows})
        indexes = state.executor.execute(parsed, include_deleted=include_deleted)
    except SoqlError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    if parsed.count:
        return Reply(body={"totalSize": len(indexes), "done": True, "records": []})
    locator = state.open_cursor(parsed, indexes, include_deleted=include_deleted)
    return _page(state, call, locator, 0)


def query_more(state: SalesforceState, call: Call, locator: str, offset: int) -> Reply:
    """`query/{locator}-{offset}`: the next page."""
    cursor = state.use_cursor(locator)
    if cursor is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(state, call, locator, offset)


def _page(state: SalesforceState, call: Call, locator: str, offset: int) -> Reply:
    cursor = state.use_cursor(locator)
    if cursor is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    size = 2000
    options = call.headers.get("sforce-query-options", "")
    if match := _BATCH_SIZE.search(options):
        size = max(200, min(2000, int(match.group(1))))
    chunk = cursor.indexes[offset : offset + size]
    try:
        records = state.executor.project(cursor.query, chunk, include_deleted=cursor.include_deleted)
    except SoqlError as exc:  # a field lost its permission between pages
        raise ApiError(400, exc.code, exc.message) from None
    body: dict[str, Any] = {"totalSize": len(cursor.indexes), "done": offset + size >= len(cursor.indexes)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/query/{locator}-{offset + size}"
    else:
        state.cursors.pop(locator, None)
    body["records"] = records
    return Reply(body=body)


# -- sobjects ------------------------------------------------------------------------------------------------
def describe_global(state: SalesforceState, call: Call) -> Reply:
    """`GET sobjects`: the list of objects."""
    objects = [
        {
            "name": spec.name,
            "label": spec.label,
            "keyPrefix": spec.key_prefix,
            "custom": False,
            "queryable": True,
            "updateable": True,
            "createable": True,
            "deletable": True,
            "urls": {"sobject": f"/services/data/v{call.version}/sobjects/{spec.name}"},
        }
        for spec in state.store.schema.values()
        if not spec.tooling
    ]
    return Reply(body={"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


def describe(state: SalesforceState, call: Call, name: str) -> Reply:
    """`GET sobjects/{Obj}/describe`: the fields the integration user can see."""
    spec = sobject(state, name)
    fields = [
        item.describe(updateable=state.store.visible(spec, item, edit=True))
        for item in spec.fields.values()
        if state.store.visible(spec, item)
    ]
    base = f"/services/data/v{call.version}/sobjects/{spec.name}"
    return Reply(
        body={
            "name": spec.name,
            "label": spec.label,
            "keyPrefix": spec.key_prefix,
            "custom": False,
            "queryable": True,
            "updateable": True,
            "createable": True,
            "deletable": True,
            "fields": fields,
            "childRelationships": [],
            "recordTypeInfos": [],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }
    )


def sobject_info(state: SalesforceState, call: Call, name: str) -> Reply:
    """`GET sobjects/{Obj}`: basic info and recent items."""
    spec = sobject(state, name)
    info = {"name": spec.name, "label": spec.label, "keyPrefix": spec.key_prefix}
    return Reply(body={"objectDescribe": info, "recentItems": []})


def _live_record(state: SalesforceState, spec: ObjectSpec, record_id: str) -> tuple[int, dict[str, Any]]:
    """The record's index and values; 404 when it does not exist, ENTITY_IS_DELETED when it is in the bin."""
    located = state.store.locate(record_id)
    if located is None or located[0].name != spec.name:
        raise not_found()
    record = state.store.get(spec.name, located[1], include_deleted=True)
    if record is None:
        raise not_found()
    if record.get("IsDeleted"):
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return located[1], record


def get_record(state: SalesforceState, call: Call, name: str, record_id: str) -> Reply:
    """`GET sobjects/{Obj}/{id}`: every visible field (or those in `?fields=`)."""
    spec = sobject(state, name)
    _, record = _live_record(state, spec, record_id)
    wanted = call.params.get("fields")
    try:
        if wanted:
            columns = [
                state.executor.column(spec, item.strip()) for item in wanted.split(",") if item.strip()
            ]
        else:
            columns = [
                state.executor.column(spec, item.name)
                for item in spec.fields.values()
                if state.store.visible(spec, item)
            ]
    except SoqlError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    return Reply(body=state.executor.render(spec, record, columns))


def update_record(state: SalesforceState, call: Call, name: str, record_id: str) -> Reply:
    """`PATCH sobjects/{Obj}/{id}`: 204 on success, the first error as an HTTP 400/404 otherwise."""
    spec = sobject(state, name)
    values = call.json()
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    index, clean, problem = check_update(state, spec, record_id, values)
    if problem is not None:
        code = problem["statusCode"]
        status = 404 if code in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY") else 400
        if code == "INVALID_CROSS_REFERENCE_KEY":
            raise not_found()
        raise ApiError(status, code, problem["message"], problem["fields"])
    state.store.update(spec.name, index, clean)
    return Reply(status=204)


def delete_record(state: SalesforceState, call: Call, name: str, record_id: str) -> Reply:
    """`DELETE sobjects/{Obj}/{id}`: 204, the record goes to the recycle bin."""
    spec = sobject(state, name)
    if spec.name in _METADATA:
        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {spec.name} does not support delete")
    index, record = _live_record(state, spec, record_id)
    with state.store.lock:
        state.store.delete(spec.name, index)
        if spec.name == "PermissionSet":  # its field and object permissions go with it
            state.store.delete_where("FieldPermissions", "ParentId", record["Id"])
    return Reply(status=204)


def create_record(state: SalesforceState, call: Call, name: str, *, tooling: bool = False) -> Reply:
    """`POST sobjects/{Obj}`: 201 with the new id."""
    spec = sobject(state, name, tooling=tooling)
    values = call.json()
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    record_id, problem = create_one(state, spec, values)
    if problem is not None:
        raise ApiError(400, problem["statusCode"], problem["message"], problem["fields"])
    return Reply(status=201, body={"id": record_id, "success": True, "errors": []})


def create_one(state: SalesforceState, spec: ObjectSpec, values: dict[str, Any]) -> tuple[str, Any]:
    """Validate and insert one record; (id, None) or ("", error)."""
    if spec.name in _METADATA:  # created through the UI API or the Metadata API only
        return "", error("INVALID_TYPE_FOR_OPERATION", f"entity type {spec.name} does not support create")
    clean, problem = check_values(state, spec, values)
    if problem is None:
        problem = required_on_create(spec, clean)
    if problem is None:
        problem = _integrity(state, spec, clean)
    if problem is None:
        problem = state.rules.check(state.executor, spec, clean, index=None, written=list(clean))
    if problem is not None:
        return "", problem
    return state.store.create(spec.name, clean), None


def _integrity(state: SalesforceState, spec: ObjectSpec, values: dict[str, Any]) -> Any:
    """Checks of the setup objects the installer writes (names, references, duplicates)."""
    if spec.name == "FieldPermissions":
        target = str(values.get("Field") or "")
        obj_name, _, field_name = target.partition(".")
        obj = state.store.spec(obj_name)
        if obj is None or obj.field(field_name) is None:
            message = f"Field Name: bad value for restricted picklist field: {target}"
            return error("FIELD_INTEGRITY_EXCEPTION", message, ["Field"])
        parent = state.store.get_by_id(str(values.get("ParentId") or ""))
        if parent is None or not str(parent["Id"]).startswith("0PS"):
            return error("FIELD_INTEGRITY_EXCEPTION", "Parent ID: id value of incorrect type", ["ParentId"])
    if spec.name == "PermissionSet":
        if not values.get("Name") or not values.get("Label"):
            message = "Required fields are missing: [Name, Label]"
            return error("REQUIRED_FIELD_MISSING", message, ["Name", "Label"])
        for index in state.store.indexes("PermissionSet"):
            other = state.store.get("PermissionSet", index)
            if other and str(other["Name"]).lower() == str(values["Name"]).lower():
                return error(
                    "DUPLICATE_DEVELOPER_NAME", "The API Name you entered is already in use.", ["Name"]
                )
    if spec.name == "PermissionSetAssignment":
        for index in state.store.indexes("PermissionSetAssignment"):
            other = state.store.get("PermissionSetAssignment", index)
            if other and (other["AssigneeId"], other["PermissionSetId"]) == (
                values.get("AssigneeId"),
                values.get("PermissionSetId"),
            ):
                message = (
                    f"duplicate value found: <unknown> duplicates value on record with id: {other['Id']}"
                )
                return error("DUPLICATE_VALUE", message)
    return None


def _replication_window(state: SalesforceState, call: Call) -> tuple[datetime, datetime]:
    """`start` and `end` of a getDeleted/getUpdated call: INVALID_REPLICATION_DATE for a start more than 30
    days back or after the end."""
    try:
        start = parse_datetime(call.params["start"])
        end = parse_datetime(call.params["end"])
    except (KeyError, ValueError, SoqlError):
        raise ApiError(400, "MALFORMED_QUERY", "start and end must be ISO-8601 datetimes") from None
    now = state.store.clock()
    if start < now - timedelta(days=REPLICATION_DAYS):
        raise ApiError(
            400,
            "INVALID_REPLICATION_DATE",
            f"startDate cannot be more than {REPLICATION_DAYS} days ago",
        )
    if start > end:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
    return start, min(end, now)


def deleted(state: SalesforceState, call: Call, name: str) -> Reply:
    """`GET sobjects/{Obj}/deleted/?start=&end=`: records deleted in the window and still in the recycle bin."""
    spec = sobject(state, name)
    start, end = _replication_window(state, call)
    rows = [
        {"id": make_id(spec.key_prefix, index), "deletedDate": format_value(at)}
        for index, at in sorted(state.store.deleted[spec.name.lower()].items())
        if start <= at <= end
    ]
    earliest = state.store.purged_through or (state.store.clock() - timedelta(days=REPLICATION_DAYS))
    return Reply(
        body={
            "deletedRecords": rows,
            "earliestDateAvailable": format_value(earliest),
            "latestDateCovered": format_value(end),
        }
    )


def updated(state: SalesforceState, call: Call, name: str) -> Reply:
    """`GET sobjects/{Obj}/updated/?start=&end=`: ids of live records whose SystemModstamp is in the window."""
    spec = sobject(state, name)
    start, end = _replication_window(state, call)
    ids = []
    for index in state.store.indexes(spec.name):
        record = state.store.get(spec.name, index)
        if record is not None and start <= record["SystemModstamp"] <= end:
            ids.append(str(record["Id"]))
    return Reply(body={"ids": ids, "latestDateCovered": format_value(end)})


def versions(state: SalesforceState) -> Reply:
    """`GET /services/data/`: the API versions the org answers."""
    from crm_sandbox.salesforce.state import NEWEST_VERSION, OLDEST_VERSION

    body = [
        {"label": f"v{major}.0", "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        for major in range(OLDEST_VERSION[0], NEWEST_VERSION[0] + 1)
    ]
    return Reply(body=body)


# -- collections and limits ----------------------------------------------------------------------------------
def collection_update(state: SalesforceState, call: Call) -> Reply:
    """`PATCH composite/sobjects`: up to 200 updates, per-record results, optional all-or-none."""
    payload = _collection(call)
    records: list[Any] = payload["records"]
    if len(records) > _MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    all_or_none = bool(payload.get("allOrNone", False))
    planned: list[tuple[str, int, dict[str, Any]] | None] = []
    results: list[dict[str, Any]] = []
    for item in records:
        if not isinstance(item, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        spec = state.store.spec(str((item.get("attributes") or {}).get("type", "")))
        record_id = _field(item, "id")
        index: int = -1
        clean: dict[str, Any] = {}
        problem: dict[str, Any] | None
        if spec is None or spec.tooling:
            problem = error("INVALID_TYPE", "sObject type is missing or not supported")
        elif not record_id:
            problem = error("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        else:
            index, clean, problem = check_update(state, spec, str(record_id), item)
        if problem is None:
            assert spec is not None
            planned.append((spec.name, index, clean))
            results.append({"id": normalize_id(str(record_id)), "success": True, "errors": []})
        else:
            planned.append(None)
            results.append({"success": False, "errors": [problem]})
    if all_or_none and any(plan is None for plan in planned):
        rolled = error(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request was using AllOrNone "
            "header",
        )
        return Reply(
            body=[
                {"id": result["id"], "success": False, "errors": [rolled]} if result["success"] else result
                for result in results
            ]
        )
    for plan in planned:
        if plan is not None:
            state.store.update(*plan)
    return Reply(body=results)


def _collection(call: Call) -> dict[str, Any]:
    """An sObject Collections body: `records` required, no key but `allOrNone` and `records`."""
    payload = call.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "records is required")
    for key in payload:
        if key not in _COLLECTION_KEYS:
            raise ApiError(400, "JSON_PARSER_ERROR", f'Unrecognized field "{key}" at [line:1, column:2]')
    return payload


def _field(item: dict[str, Any], name: str) -> Any:
    for key, value in item.items():
        if key.lower() == name:
            return value
    return None


def collection_create(state: SalesforceState, call: Call) -> Reply:
    """`POST composite/sobjects`: up to 200 inserts with per-record results."""
    payload = _collection(call)
    if len(payload["records"]) > _MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    results = []
    for item in payload["records"]:
        spec = state.store.spec(str((item.get("attributes") or {}).get("type", "")))
        if spec is None or spec.tooling:
            results.append(
                {"success": False, "errors": [error("INVALID_TYPE", "sObject type is not supported")]}
            )
            continue
        record_id, problem = create_one(state, spec, item)
        if problem is None:
            results.append({"id": record_id, "success": True, "errors": []})
        else:
            results.append({"success": False, "errors": [problem]})
    return Reply(body=results)


def chatter_me(state: SalesforceState, call: Call) -> Reply:
    """`GET chatter/users/me`: the user the token belongs to (always the integration user here)."""
    user = state.store.get_by_id(state.store.user_id)
    assert user is not None
    return Reply(
        body={
            "id": user["Id"], "name": user["Name"], "username": user["Username"], "type": "User",
            "url": f"/services/data/v{call.version}/chatter/users/{user['Id']}",
        }
    )  # fmt: skip


def limits(state: SalesforceState, call: Call) -> Reply:
    """`GET limits/`: the org's limits: the daily API request quota (every request, Bulk ones too), and the
    Bulk batches and query jobs spent (counted since the counters were last reset)."""
    remaining = state.daily_limit - state.api_used

    def pair(maximum: int, left: int) -> dict[str, int]:
        return {"Max": maximum, "Remaining": left}

    return Reply(
        body={
            "DailyApiRequests": {**pair(state.daily_limit, remaining), "lawful-crm": pair(0, 0)},
            "DailyBulkApiBatches": pair(15000, max(15000 - state.counters["bulk batches"], 0)),
            "DailyBulkV2QueryJobs": pair(10000, max(10000 - state.counters["POST bulkQueryJob"], 0)),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DataStorageMB": pair(1024, 1000),
            "FileStorageMB": pair(1024, 1024),
            "HourlyODataCallout": pair(20000, 20000),
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
        }
    )
