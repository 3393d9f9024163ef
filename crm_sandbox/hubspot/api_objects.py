"""CRM v3 object endpoints: contacts (list, get, create, update, archive, search, batch read/update, GDPR
delete) and companies (list, get, batch read, search by scan), with the status codes the SDK's
``response_types_map`` expects.

Batch rule (the docs leave it open): an invalid property value fails the whole batch with 400
``VALIDATION_ERROR``; unknown ids and injected per-input faults fail only their input, answered with 207.
Unknown JSON keys, unsupported query parameters and an id named twice in one batch are refused first
(``strict``). A merged-away contact's id reads as the winner; a GDPR-deleted or purged one is unknown.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.errors import ApiError, json_response
from crm_sandbox.hubspot.properties import PropertyError, iso_ms
from crm_sandbox.hubspot.query import (
    ALWAYS_COMPANY,
    ALWAYS_CONTACT,
    DEFAULT_COMPANY_PROPERTIES,
    DEFAULT_CONTACT_PROPERTIES,
    SearchRunner,
    kind_resolver,
    object_json,
    select,
)
from crm_sandbox.hubspot.search import RESULT_CAP, SearchError, parse_request, record_matches, sort_key
from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.hubspot.store import CONTACT_ID_BASE, Props
from crm_sandbox.hubspot.strict import (
    BATCH_READ_KEYS,
    BATCH_UPDATE_INPUT_KEYS,
    CREATE_KEYS,
    GDPR_KEYS,
    ID_INPUT_KEYS,
    MERGE_KEYS,
    UPDATE_KEYS,
    inputs_keys,
    known_keys,
    known_params,
    search_keys,
    unique_ids,
)

CONTACTS = "/crm/v3/objects/contacts"
COMPANIES = "/crm/v3/objects/companies"
MAX_PAGE, MAX_BATCH, MAX_HISTORY_BATCH = 100, 100, 50
LIST_PARAMS = frozenset({"limit", "after", "properties", "propertiesWithHistory", "associations", "archived"})
GET_PARAMS = frozenset({"properties", "propertiesWithHistory", "associations", "archived", "idProperty"})
BATCH_PARAMS = frozenset({"archived"})
NO_PARAMS: frozenset[str] = frozenset()
NOT_FOUND = "Could not get some {} objects, they may be deleted or not exist."


def multi(request: Request, name: str) -> list[str]:
    """A repeated or comma-separated query parameter."""
    return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter, case-insensitive (the SDK sends ``True``/``False``)."""
    return request.query_params.get(name, "false").lower() == "true"


async def body_json(request: Request) -> dict[str, Any]:
    """The JSON request body as a dict; 400 when it is not one."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON on line 1") from None
    if not isinstance(body, dict):
        raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    return body


def _validation(exc: PropertyError) -> ApiError:
    extra: dict[str, Any] = {"errors": exc.errors} if exc.errors else {}
    return ApiError(exc.status, exc.category, exc.message, **extra)


def build_objects_router(state: HubSpotState) -> APIRouter:
    """Routes for contacts and companies bound to one sandbox account."""
    router = APIRouter()
    store, registry = state.store, state.registry
    searcher = SearchRunner(store, registry)

    def contact(
        index: int,
        wanted: list[str] | None,
        associations: list[str],
        *,
        history: list[str] | None = None,
        props: Props | None = None,
    ) -> dict[str, Any]:
        props = store.properties(index) if props is None else props
        body = object_json(
            store.contact_id(index),
            props,
            select(props, wanted, DEFAULT_CONTACT_PROPERTIES, ALWAYS_CONTACT),
            archived=index in store.archived,
            archived_at=store.archived_at.get(index),
        )
        company = props.get("associatedcompanyid")
        if company and any(a in ("companies", "company", "0-2") for a in associations):
            links = [
                {"id": company, "type": t} for t in ("contact_to_company", "contact_to_company_unlabeled")
            ]
            body["associations"] = {"companies": {"results": links}}
        if history:
            body["propertiesWithHistory"] = _history(props, history, body["updatedAt"])
        return body

    def resolve(raw_id: str, id_property: str | None, *, archived: bool = False) -> int | None:
        value = unquote(raw_id)
        if id_property and id_property != "hs_object_id":
            index = store.find_by(id_property, value)
        else:
            index = store.index_of(value)
        if index is not None:
            index = store.winner_of(index)
        return index if index is not None and store.exists(index, archived=archived) else None

    @router.get(CONTACTS)
    async def list_contacts(request: Request) -> Response:
        known_params(request, LIST_PARAMS)
        limit = int(request.query_params.get("limit", "10"))
        if not 0 < limit <= MAX_PAGE:
            raise ApiError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}")
        after = request.query_params.get("after")
        if after and not after.isdigit():
            raise ApiError(400, "VALIDATION_ERROR", "Invalid after cursor")
        start = max(int(after) - CONTACT_ID_BASE, 0) if after else 0
        wanted, assoc = multi(request, "properties"), multi(request, "associations")
        history = multi(request, "propertiesWithHistory")
        archived = flag(request, "archived")
        results: list[dict[str, Any]] = []
        following: int | None = None
        for index in store.iter_indices(start, archived=archived):
            if len(results) == limit:
                following = index
                break
            results.append(contact(index, wanted, assoc, history=history))
        body: dict[str, Any] = {"results": results}
        if following is not None:
            cursor = store.contact_id(following)
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return json_response(body)

    @router.post(f"{CONTACTS}/search")
    async def search_contacts(request: Request) -> Response:
        known_params(request, NO_PARAMS)
        raw = await body_json(request)
        search_keys(raw)
        try:
            req = parse_request(raw)
        except SearchError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        total, page = searcher.run(req)
        wanted = list(req.properties)
        results = [contact(i, wanted, [], props=store.searchable(i)) for i in page]
        body: dict[str, Any] = {"total": total, "results": results}
        next_offset = req.after + len(page)
        if page and next_offset < total:
            body["paging"] = {"next": {"after": str(next_offset), "link": f"?after={next_offset}"}}
        return json_response(body)

    @router.post(f"{CONTACTS}/batch/read")
    async def batch_read(request: Request) -> Response:
        known_params(request, BATCH_PARAMS)
        body = await body_json(request)
        known_keys(body, BATCH_READ_KEYS, "BatchReadInputSimplePublicObjectId")
        history = list(body.get("propertiesWithHistory") or [])
        inputs = _inputs(body, ID_INPUT_KEYS, limit=MAX_HISTORY_BATCH if history else MAX_BATCH)
        wanted = list(body.get("properties") or [])
        id_property = body.get("idProperty")
        started = iso_ms(datetime.now(UTC))
        results, missing = [], []
        for item in inputs:
            index = resolve(str(item.get("id", "")), id_property, archived=flag(request, "archived"))
            if index is None:
                missing.append(str(item.get("id", "")))
            else:
                results.append(contact(index, wanted, [], history=history))
        errors = []
        if missing:
            errors.append(_error("OBJECT_NOT_FOUND", NOT_FOUND.format("CONTACT"), missing))
        return _batch(results, errors, started)

    @router.post(f"{CONTACTS}/batch/update")
    async def batch_update(request: Request) -> Response:
        known_params(request, NO_PARAMS)
        body = await body_json(request)
        known_keys(body, {"inputs"}, "BatchInputSimplePublicObjectBatchInput")
        inputs = _inputs(body, BATCH_UPDATE_INPUT_KEYS)
        started = iso_ms(datetime.now(UTC))
        prepared: list[tuple[int, dict[str, str | None]]] = []
        missing: list[str] = []
        failed: list[str] = []
        for item in inputs:
            raw_id = str(item.get("id", ""))
            try:
                values = registry.normalise_values("contacts", dict(item.get("properties") or {}))
            except PropertyError as exc:
                raise _validation(exc) from None
            index = resolve(raw_id, item.get("idProperty"))
            if index is None:
                missing.append(raw_id)
            elif state.faults.record_fails(store.contact_id(index)):
                failed.append(raw_id)
            else:
                prepared.append((index, values))
        results = []
        for index, values in prepared:
            store.update(index, values, "INTEGRATION", state.integration_source_id())
            results.append(contact(index, list(values), []))
        errors = []
        if missing:
            errors.append(
                _error("OBJECT_NOT_FOUND", "Could not find some CONTACT objects to update.", missing)
            )
        for raw_id in failed:
            errors.append(
                _error("LOCKED", f"Object {raw_id} is locked by another operation; retry later.", [raw_id])
            )
        return _batch(results, errors, started)

    @router.get(f"{CONTACTS}/{{contact_id}}")
    async def get_contact(contact_id: str, request: Request) -> Response:
        known_params(request, GET_PARAMS)
        index = resolve(
            contact_id, request.query_params.get("idProperty"), archived=flag(request, "archived")
        )
        if index is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        wanted, assoc = multi(request, "properties"), multi(request, "associations")
        return json_response(contact(index, wanted, assoc, history=multi(request, "propertiesWithHistory")))

    @router.patch(f"{CONTACTS}/{{contact_id}}")
    async def update_contact(contact_id: str, request: Request) -> Response:
        known_params(request, {"idProperty"})
        body = await body_json(request)
        known_keys(body, UPDATE_KEYS, "SimplePublicObjectInput")
        index = resolve(contact_id, request.query_params.get("idProperty"))
        if index is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        try:
            values = registry.normalise_values("contacts", dict(body.get("properties") or {}))
        except PropertyError as exc:
            raise _validation(exc) from None
        store.update(index, values, "INTEGRATION", state.integration_source_id())
        return json_response(contact(index, list(values), []))

    @router.post(CONTACTS)
    async def create_contact(request: Request) -> Response:
        known_params(request, NO_PARAMS)
        body = await body_json(request)
        known_keys(body, CREATE_KEYS, "SimplePublicObjectInputForCreate")
        try:
            values = registry.normalise_values("contacts", dict(body.get("properties") or {}))
        except PropertyError as exc:
            raise _validation(exc) from None
        email = values.get("email")
        if email and (existing := store.find_by("email", email)) is not None:
            raise ApiError(
                409,
                "CONFLICT",
                f"Contact already exists. Existing ID: {store.contact_id(existing)}",
                error="CONTACT_EXISTS",
            )
        index = store.create(values, "INTEGRATION", state.integration_source_id())
        return json_response(contact(index, list(values), []), 201)

    @router.delete(f"{CONTACTS}/{{contact_id}}")
    async def archive_contact(contact_id: str) -> Response:
        index = resolve(contact_id, None)
        if index is not None:
            store.archive(index)
            store.notify(
                "deletion", store.contact_id(index), {}, "INTEGRATION", state.integration_source_id()
            )
        return Response(status_code=204)

    @router.post(f"{CONTACTS}/gdpr-delete")
    async def gdpr_delete(request: Request) -> Response:
        """Permanent: the contact is neither live nor archived afterwards, and its id is unknown."""
        known_params(request, NO_PARAMS)
        body = await body_json(request)
        known_keys(body, GDPR_KEYS, "PublicGdprDeleteInput")
        raw_id = str(body.get("objectId", ""))
        index = resolve(raw_id, body.get("idProperty"))
        if index is None:  # an archived contact can be GDPR-deleted too
            index = resolve(raw_id, body.get("idProperty"), archived=True)
        if index is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.")
        store.purge(index)
        for kind in ("privacyDeletion", "deletion"):
            store.notify(kind, store.contact_id(index), {}, "GDPR", state.integration_source_id())
        return Response(status_code=204)

    @router.post(f"{CONTACTS}/merge")
    async def merge_contacts(request: Request) -> Response:
        """Merge ``objectIdToMerge`` into ``primaryObjectId``; answers the winner as it now is."""
        known_params(request, NO_PARAMS)
        body = await body_json(request)
        known_keys(body, MERGE_KEYS, "PublicMergeInput")
        winner = resolve(str(body.get("primaryObjectId", "")), None)
        loser = resolve(str(body.get("objectIdToMerge", "")), None)
        if winner is None or loser is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        if winner == loser:
            raise ApiError(400, "VALIDATION_ERROR", "Cannot merge an object with itself.")
        store.merge(winner, loser)
        store.notify(
            "merge",
            store.contact_id(winner),
            {"mergedObjectIds": store.contact_id(loser)},
            "CRM_UI",
            state.integration_source_id(),
        )
        return json_response(contact(winner, None, []))

    def company(company_id: str, wanted: list[str] | None) -> dict[str, Any] | None:
        props = store.company_properties(company_id)
        if props is None:
            return None
        props = {**props, "lastmodifieddate": None}
        selected = select(props, wanted, DEFAULT_COMPANY_PROPERTIES, ALWAYS_COMPANY)
        selected.pop("lastmodifieddate", None)
        return object_json(company_id, props, selected)

    @router.get(COMPANIES)
    async def list_companies(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "10"))
        if not 0 < limit <= MAX_PAGE:
            raise ApiError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}")
        ids = store.company_ids()
        after = request.query_params.get("after")
        start = 0
        if after:
            start = bisect_left([int(i) for i in ids], int(after)) if after.isdigit() else 0
        page = ids[start : start + limit]
        wanted = multi(request, "properties")
        body: dict[str, Any] = {"results": [company(i, wanted) for i in page]}
        if start + limit < len(ids):
            cursor = ids[start + limit]
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return json_response(body)

    @router.post(f"{COMPANIES}/batch/read")
    async def batch_read_companies(request: Request) -> Response:
        known_params(request, BATCH_PARAMS)
        body = await body_json(request)
        known_keys(body, BATCH_READ_KEYS, "BatchReadInputSimplePublicObjectId")
        inputs = _inputs(body, ID_INPUT_KEYS)
        wanted = list(body.get("properties") or [])
        started = iso_ms(datetime.now(UTC))
        results, missing = [], []
        for item in inputs:
            found = company(str(item.get("id", "")), wanted)
            if found is None:
                missing.append(str(item.get("id", "")))
            else:
                results.append(found)
        errors = []
        if missing:
            errors.append(_error("OBJECT_NOT_FOUND", NOT_FOUND.format("COMPANY"), missing))
        return _batch(results, errors, started)

    @router.post(f"{COMPANIES}/search")
    async def search_companies(request: Request) -> Response:
        known_params(request, NO_PARAMS)
        raw = await body_json(request)
        search_keys(raw)
        try:
            req = parse_request(raw)
        except SearchError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        if req.after >= RESULT_CAP:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {RESULT_CAP} items; 'after' must be below {RESULT_CAP}.",
            )
        kind_of = kind_resolver(registry, "companies")
        found: list[tuple[str, Props]] = []
        for company_id in store.company_ids():
            props = store.company_properties(company_id) or {}
            if record_matches(req.groups, props.get, kind_of):
                found.append((company_id, props))
        if req.sort is not None:
            name, kind = req.sort.property, kind_of(req.sort.property)[0]
            found.sort(key=lambda item: sort_key(item[1].get(name), kind), reverse=req.sort.descending)
        page = found[req.after : min(req.after + req.limit, RESULT_CAP)]
        body: dict[str, Any] = {
            "total": len(found),
            "results": [company(company_id, list(req.properties)) for company_id, _ in page],
        }
        next_offset = req.after + len(page)
        if page and next_offset < len(found):
            body["paging"] = {"next": {"after": str(next_offset), "link": f"?after={next_offset}"}}
        return json_response(body)

    @router.get(f"{COMPANIES}/{{company_id}}")
    async def get_company(company_id: str, request: Request) -> Response:
        found = company(unquote(company_id), multi(request, "properties"))
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        return json_response(found)

    return router


def _inputs(body: dict[str, Any], allowed: frozenset[str], *, limit: int = MAX_BATCH) -> list[dict[str, Any]]:
    """The batch's inputs: at most ``limit``, each of known keys, no id twice."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise ApiError(400, "VALIDATION_ERROR", "inputs is required")
    if len(inputs) > limit:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Batch input size exceeds maximum of {limit}",
            subCategory="TOO_MANY_INPUTS",
        )
    inputs_keys(
        inputs,
        allowed,
        "SimplePublicObjectId" if allowed == ID_INPUT_KEYS else "SimplePublicObjectBatchInput",
    )
    items = [i if isinstance(i, dict) else {"id": str(i)} for i in inputs]
    unique_ids(str(item.get("id", "")) for item in items)
    return items


def _history(props: Props, names: list[str], updated_at: str) -> dict[str, list[dict[str, Any]]]:
    """``propertiesWithHistory``: each asked property's current value as its one version (the sandbox keeps
    no older versions)."""
    return {
        name: [{"value": props[name], "timestamp": updated_at, "sourceType": "API"}]
        for name in names
        if props.get(name) is not None
    }


def _error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
    """One ``StandardError`` of a 207 batch response (every required field present)."""
    return {"status": "error", "category": category, "message": message, "context": {"ids": ids},
            "errors": [], "links": {}}  # fmt: skip


def _batch(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_ms(datetime.now(UTC)),
    }
    if errors:
        body["numErrors"] = sum(len(e["context"]["ids"]) for e in errors)
        body["errors"] = errors
        return json_response(body, 207)
    return json_response(body)
