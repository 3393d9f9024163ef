"""Lists (v3): create a list with a filter branch, fetch one by name or id, delete (and restore) it.

As HubSpot: a list's name is unique among the account's lists of every object type (a second create is a 400
``LIST_NAME_ALREADY_EXISTS``); request keys the model lacks are a 400; a DYNAMIC list needs a ``filterBranch``
whose root is an OR branch of AND branches, and a property filter must name a property the object type has;
a deleted list is restorable; ``GET`` answers 404 for it and its name is free again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.api_objects import body_json, flag
from crm_sandbox.hubspot.errors import ApiError, json_response
from crm_sandbox.hubspot.properties import iso_ms
from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.hubspot.strict import known_keys, known_params

LISTS = "/crm/v3/lists"
OBJECT_TYPES = {"0-1": "contacts", "0-2": "companies"}
CREATE_KEYS = frozenset({"name", "objectTypeId", "processingType", "filterBranch", "listFolderId",
                         "customProperties", "listPermissions", "membershipSettings"})  # fmt: skip
BRANCH_KEYS = frozenset({"filterBranchType", "filterBranchOperator", "filters", "filterBranches"})
FILTER_KEYS = frozenset({"filterType", "property", "operation"})
PROCESSING = frozenset({"MANUAL", "DYNAMIC", "SNAPSHOT"})


def _branch(branch: Any, state: HubSpotState, object_type: str, *, root: bool) -> None:
    """400 for a filter branch HubSpot would refuse (shape, keys, unknown properties)."""
    if not isinstance(branch, dict):
        raise ApiError(400, "VALIDATION_ERROR", "filterBranch must be an object")
    known_keys(branch, BRANCH_KEYS, "PublicFilterBranch")
    kind = branch.get("filterBranchType")
    if kind != ("OR" if root else "AND"):
        raise ApiError(400, "VALIDATION_ERROR", "The root filter branch must be OR, its branches AND.")
    for item in branch.get("filters") or ():
        if not isinstance(item, dict):
            raise ApiError(400, "VALIDATION_ERROR", "filters must be objects")
        known_keys(item, FILTER_KEYS, "PublicPropertyFilter")
        if item.get("filterType") != "PROPERTY" or not isinstance(item.get("operation"), dict):
            raise ApiError(
                400, "VALIDATION_ERROR", "The sandbox supports PROPERTY filters with an operation."
            )
        if state.registry.get(object_type, str(item.get("property"))) is None:
            raise ApiError(400, "VALIDATION_ERROR", f"Property {item.get('property')} does not exist.")
    for inner in branch.get("filterBranches") or ():
        _branch(inner, state, object_type, root=False)


def build_lists_router(state: HubSpotState) -> APIRouter:
    """List routes bound to one sandbox account."""
    router = APIRouter()
    book = state.lists

    @router.post(LISTS)
    @router.post(f"{LISTS}/")
    async def create(request: Request) -> Response:
        known_params(request, frozenset())
        body = await body_json(request)
        known_keys(body, CREATE_KEYS, "ListCreateRequest")
        name, type_id, processing = body.get("name"), body.get("objectTypeId"), body.get("processingType")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "VALIDATION_ERROR", "name is required")
        if type_id not in OBJECT_TYPES or processing not in PROCESSING:
            raise ApiError(400, "VALIDATION_ERROR", "objectTypeId and processingType are required and valid")
        if processing == "DYNAMIC":
            _branch(body.get("filterBranch"), state, OBJECT_TYPES[type_id], root=True)
        if book.by_name(name) is not None:
            raise ApiError(400, "VALIDATION_ERROR", "A list with this name already exists.",
                           subCategory="ILS.LIST_NAME_ALREADY_EXISTS")  # fmt: skip
        stamp = iso_ms(datetime.now(UTC))
        list_id = book.next_id()
        item = {"listId": list_id, "name": name, "objectTypeId": type_id, "processingType": processing,
                "processingStatus": "COMPLETE", "listVersion": 1, "createdAt": stamp, "updatedAt": stamp,
                "filtersUpdatedAt": stamp, "filterBranch": body.get("filterBranch")}  # fmt: skip
        book.lists[list_id] = item
        return json_response({"list": item})

    def shown(item: dict[str, Any], request: Request) -> Response:
        body = dict(item)
        if not flag(request, "includeFilters"):
            body.pop("filterBranch", None)
        return json_response({"list": body})

    @router.get(f"{LISTS}/object-type-id/{{type_id}}/name/{{list_name}}")
    async def by_name(request: Request) -> Response:
        known_params(request, frozenset({"includeFilters"}))
        item = book.by_name(unquote(request.path_params["list_name"]))
        if (
            item is None
            or item["listId"] in book.deleted
            or item["objectTypeId"] != request.path_params["type_id"]
        ):
            raise ApiError(404, "OBJECT_NOT_FOUND", "List does not exist.")
        return shown(item, request)

    @router.get(f"{LISTS}/{{list_id}}")
    async def by_id(request: Request) -> Response:
        known_params(request, frozenset({"includeFilters"}))
        item = book.lists.get(request.path_params["list_id"])
        if item is None or item["listId"] in book.deleted:
            raise ApiError(404, "OBJECT_NOT_FOUND", "List does not exist.")
        return shown(item, request)

    @router.delete(f"{LISTS}/{{list_id}}")
    async def remove(request: Request) -> Response:
        list_id = request.path_params["list_id"]
        if list_id not in book.lists or list_id in book.deleted:
            raise ApiError(404, "OBJECT_NOT_FOUND", "List does not exist.")
        book.deleted.add(list_id)
        return Response(status_code=204)

    @router.put(f"{LISTS}/{{list_id}}/restore")
    async def restore(request: Request) -> Response:
        list_id = request.path_params["list_id"]
        if list_id not in book.deleted:
            raise ApiError(404, "OBJECT_NOT_FOUND", "No deleted list with this id.")
        book.deleted.discard(list_id)
        return Response(status_code=204)

    return router
