"""CRM v3 object endpoints: contacts (list, get, create, update, archive, search, batch read/update, GDPR
delete) and companies (list, get, batch read, search by scan), with the status codes the SDK's
``response_types_map`` expects.

Batch rule (the docs leave it open): an invalid property value fails the whole batch with 400
``VALIDATION_ERROR``; unknown ids and injected per-input faults fail only their input, answered with 207.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.responses import Response

from connector.sandbox.hubspot.errors import ApiError, json_response
from connector.sandbox.hubspot.properties import PropertyError, iso_ms
from connector.sandbox.hubspot.query import (
    ALWAYS_COMPANY,
    ALWAYS_CONTACT,
    DEFAULT_COMPANY_PROPERTIES,
    DEFAULT_CONTACT_PROPERTIES,
    SearchRunner,
    kind_resolver,
    object_json,
    select,
)
from connector.sandbox.hubspot.search import RESULT_CAP, SearchError, parse_request, record_matches, sort_key
from connector.sandbox.hubspot.state import HubSpotState
from connector.sandbox.hubspot.store import CONTACT_ID_BASE, Props

CONTACTS = "/crm/v3/objects/contacts"
COMPANIES = "/crm/v3/objects/companies"
MAX_PAGE, MAX_BATCH = 100, 100
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

    def contact(index: int, wanted: list[str] | None, associations: list[str]) -> dict[str, Any]:
        props = store.properties(index)
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
        return body

    def resolve(raw_id: str, id_property: str | None, *, archived: bool = False) -> int | None:
        value = unquote(raw_id)
        if id_property and id_property != "hs_object_id":
            index = store.find_by(id_property, value)
        else:
            index = store.index_of(value)
        return index if index is not None and store.exists(index, archived=archived) else None

    @router.get(CONTACTS)
    async def list_contacts(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "10"))
        if not 0 < limit <= MAX_PAGE:
            raise ApiError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_PAGE}")
        after = request.query_params.get("after")
        if after and not after.isdigit():
            raise ApiError(400, "VALIDATION_ERROR", "Invalid after cursor")
        start = max(int(after) - CONTACT_ID_BASE, 0) if after else 0
        wanted, assoc = multi(request, "properties"), multi(request, "associations")
        archived = flag(request, "archived")
        results: list[dict[str, Any]] = []
        following: int | None = None
        for index in store.iter_indices(start, archived=archived):
            if len(results) == limit:
                following = index
                break
            results.append(contact(index, wanted, assoc))
        body: dict[str, Any] = {"results": results}
        if following is not None:
            cursor = store.contact_id(following)
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return json_response(body)

    @router.post(f"{CONTACTS}/search")
    async def search_contacts(request: Request) -> Response:
        try:
            req = parse_request(await body_json(request))
        except SearchError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        total, page = searcher.run(req)
        wanted = list(req.properties)
        results = [contact(i, wanted, []) for i in page]
        body: dict[str, Any] = {"total": total, "results": results}
        next_offset = req.after + len(page)
        if page and next_offset < total:
            body["paging"] = {"next": {"after": str(next_offset), "link": f"?after={next_offset}"}}
        return json_response(body)

    @router.post(f"{CONTACTS}/batch/read")
    async def batch_read(request: Request) -> Response:
        body = await body_json(request)
        inputs = _inputs(body)
        wanted = list(body.get("properties") or [])
        id_property = body.get("idProperty")
        started = iso_ms(datetime.now(UTC))
        results, missing = [], []
        for item in inputs:
            index = resolve(str(item.get("id", "")), id_property, archived=flag(request, "archived"))
            if index is None:
                missing.append(str(item.get("id", "")))
            else:
                results.append(contact(index, wanted, []))
        errors = []
        if missing:
            errors.append(_error("OBJECT_NOT_FOUND", NOT_FOUND.format("CONTACT"), missing))
        return _batch(results, errors, started)

    @router.post(f"{CONTACTS}/batch/update")
    async def batch_update(request: Request) -> Response:
        body = await body_json(request)
        inputs = _inputs(body)
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
            elif state.faults.input_fails():
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
        index = resolve(
            contact_id, request.query_params.get("idProperty"), archived=flag(request, "archived")
        )
        if index is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        return json_response(contact(index, multi(request, "properties"), multi(request, "associations")))

    @router.patch(f"{CONTACTS}/{{contact_id}}")
    async def update_contact(contact_id: str, request: Request) -> Response:
        body = await body_json(request)
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
        body = await body_json(request)
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
        body = await body_json(request)
        index = resolve(str(body.get("objectId", "")), body.get("idProperty"))
        if index is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "Object not found.")
        store.archive(index)
        for kind in ("privacyDeletion", "deletion"):
            store.notify(kind, store.contact_id(index), {}, "GDPR", state.integration_source_id())
        return Response(status_code=204)

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
        body = await body_json(request)
        inputs = _inputs(body)
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
        try:
            req = parse_request(await body_json(request))
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


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise ApiError(400, "VALIDATION_ERROR", "inputs is required")
    if len(inputs) > MAX_BATCH:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Batch input size exceeds maximum of {MAX_BATCH}",
            subCategory="TOO_MANY_INPUTS",
        )
    return [i if isinstance(i, dict) else {"id": str(i)} for i in inputs]


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
