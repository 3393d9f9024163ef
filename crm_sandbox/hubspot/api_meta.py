"""Properties and property groups (v3: list, live or archived; create; archive), contact→company and
company→contacts associations (v4 batch read, up to 1,000 inputs, 500 associations a page) and email subscription status (communication preferences v3, from ``subscriptions.py``), with the SDK's expected status
codes (create → 201, archive → 204)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.api_objects import _inputs, body_json, flag
from crm_sandbox.hubspot.errors import ApiError, json_response
from crm_sandbox.hubspot.properties import PropertyError, iso_ms
from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.hubspot.strict import known_keys, known_params

ASSOCIATION_INPUTS = 1000
ASSOCIATION_PAGE = 500

PROPS = "/crm/v3/properties/{object_type}"


def build_meta_router(state: HubSpotState) -> APIRouter:
    """Routes for properties, groups, associations and subscription status bound to one sandbox account."""
    router = APIRouter()
    registry, store = state.registry, state.store

    def object_type(raw: str) -> str:
        try:
            return registry.object_type(raw)
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None

    @router.get(PROPS)
    async def list_properties(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        if flag(request, "archived"):
            archived = registry.archived[kind].values()
            return json_response({"results": [p.to_json(archived=True) for p in archived]})
        return json_response({"results": [p.to_json() for p in registry.defs[kind].values()]})

    @router.post(PROPS)
    async def create_property(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        try:
            prop = registry.create(kind, await body_json(request), datetime.now(UTC))
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None
        return json_response(prop.to_json(), 201)

    @router.get(f"{PROPS}/groups")
    async def list_groups(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        return json_response({"results": [g.to_json() for g in registry.groups[kind].values()]})

    @router.post(f"{PROPS}/groups")
    async def create_group(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        try:
            group = registry.create_group(kind, await body_json(request))
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None
        return json_response(group.to_json(), 201)

    @router.get(f"{PROPS}/groups/{{group_name}}")
    async def get_group(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        group = registry.groups[kind].get(unquote(request.path_params["group_name"]))
        if group is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Property group not found.")
        return json_response(group.to_json())

    @router.delete(f"{PROPS}/groups/{{group_name}}")
    async def archive_group(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        try:
            registry.archive_group(kind, unquote(request.path_params["group_name"]))
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None
        return Response(status_code=204)

    @router.delete(f"{PROPS}/{{property_name}}")
    async def archive_property(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        try:
            registry.archive(kind, unquote(request.path_params["property_name"]))
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None
        return Response(status_code=204)

    @router.get(f"{PROPS}/{{property_name}}")
    async def get_property(request: Request) -> Response:
        kind = object_type(request.path_params["object_type"])
        prop = registry.get(kind, unquote(request.path_params["property_name"]))
        if prop is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Property does not exist.")
        return json_response(prop.to_json())

    @router.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def associations_read(request: Request) -> Response:
        from_type = object_type(request.path_params["from_type"])
        to_type = object_type(request.path_params["to_type"])
        if (from_type, to_type) not in (("contacts", "companies"), ("companies", "contacts")):
            raise ApiError(
                400, "VALIDATION_ERROR", "The sandbox supports contact ↔ company associations only."
            )
        known_params(request, frozenset())
        body_in = await body_json(request)
        known_keys(body_in, {"inputs"}, "BatchInputPublicFetchAssociationsBatchRequest")
        inputs = _inputs(body_in, frozenset({"id", "after"}), limit=ASSOCIATION_INPUTS)
        started = iso_ms(datetime.now(UTC))
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        if from_type == "companies":
            for item in inputs:
                raw, after = str(item.get("id", "")), int(str(item.get("after") or 0))
                members = store.contacts_of(raw)
                if not members:
                    missing.append(raw)
                    continue
                page = members[after : after + ASSOCIATION_PAGE]
                unlabeled = [{"category": "HUBSPOT_DEFINED", "typeId": 280, "label": None}]
                result: dict[str, Any] = {
                    "from": {"id": raw},
                    "to": [{"toObjectId": int(i), "associationTypes": unlabeled} for i in page],
                }
                if after + ASSOCIATION_PAGE < len(members):
                    result["paging"] = {"next": {"after": str(after + ASSOCIATION_PAGE)}}
                results.append(result)
            inputs = []
        for item in inputs:
            raw = str(item.get("id", ""))
            index = store.index_of(raw)
            if index is None or not store.exists(index):
                missing.append(raw)
                continue
            company = store.company_of(index)
            if company is None:
                missing.append(raw)
                continue
            types = [
                {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
                {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None},
            ]
            results.append(
                {"from": {"id": raw}, "to": [{"toObjectId": int(company), "associationTypes": types}]}
            )
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started}
        body["completedAt"] = iso_ms(datetime.now(UTC))
        if missing:
            body["numErrors"] = len(missing)
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": "No associations found for some inputs.",
                    "context": {"fromObjectId": missing},
                    "errors": [],
                    "links": {},
                }
            ]
            return json_response(body, 207)
        return json_response(body)

    @router.get("/communication-preferences/v3/status/email/{email_address}")
    async def email_status(request: Request) -> Response:
        """The v3 view of the address's statuses (``subscriptions.py``): SUBSCRIBED or NOT_SUBSCRIBED per type,
        every type NOT_SUBSCRIBED from the portal-wide status when the contact unsubscribed from all."""
        address = unquote(request.path_params["email_address"])
        subs = state.subscriptions
        contacts = subs.contacts_of(address)
        wide = bool(contacts) and store.properties(contacts[0]).get("hs_email_optout") == "true"
        held = {s.subscription_id: s for s in subs.statuses(address) or ()}
        shown = []
        for definition in subs.definitions.values():
            status = held.get(definition.id)
            subscribed = not wide and status is not None and status.status == "SUBSCRIBED"
            shown.append({
                "id": definition.id, "name": definition.name, "description": definition.description,
                "status": "SUBSCRIBED" if subscribed else "NOT_SUBSCRIBED",
                "sourceOfStatus": "PORTAL_WIDE_STATUS" if wide else "SUBSCRIPTION_STATUS",
                "brandId": None, "preferenceGroupName": None,
                "legalBasis": status.legal_basis if subscribed and status else None,
                "legalBasisExplanation": status.explanation if subscribed and status else None,
            })  # fmt: skip
        return json_response({"recipient": address, "subscriptionStatuses": shown})

    return router
