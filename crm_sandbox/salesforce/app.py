"""The ASGI app: routing, bearer-token check, daily quota, `Sforce-Limit-Info`, faults, counters, admin API.

Paths are matched case-insensitively with or without a trailing slash, as simple-salesforce sends both. Every
API response carries `Sforce-Limit-Info: api-usage=N/M`. `/__sandbox/...` is the admin API for tests and
the demo (faults, direct record reads, counters); it needs no token and costs no quota.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_sandbox.salesforce import bulk, bulk_query, list_views, oauth, rest, tooling
from crm_sandbox.salesforce.faults import error_body
from crm_sandbox.salesforce.rest import Call, Reply
from crm_sandbox.salesforce.state import ApiError, SalesforceState

Handler = Callable[[SalesforceState, Call, re.Match[str]], Reply]
_V = r"/services/data/v(?P<v>\d+\.\d)"
_ID = r"(?P<id>[A-Za-z0-9]{15,18})"
_OBJ = r"(?P<obj>[A-Za-z][A-Za-z0-9_]*)"


def _routes() -> list[tuple[str, str, re.Pattern[str], Handler]]:
    obj, rid, job = "obj", "id", "job"
    table: list[tuple[str, str, str, Handler]] = [
        ("GET", "query", r"/query", lambda s, c, m: rest.query(s, c, include_deleted=False)),
        ("GET", "queryAll", r"/queryall", lambda s, c, m: rest.query(s, c, include_deleted=True)),
        ("GET", "queryMore", r"/query(?:all)?/(?P<loc>01g\w+)-(?P<off>\d+)",
         lambda s, c, m: rest.query_more(s, c, m["loc"], int(m["off"]))),
        ("GET", "describeGlobal", r"/sobjects", lambda s, c, m: rest.describe_global(s, c)),
        ("GET", "describe", rf"/sobjects/{_OBJ}/describe", lambda s, c, m: rest.describe(s, c, m[obj])),
        ("GET", "deleted", rf"/sobjects/{_OBJ}/deleted", lambda s, c, m: rest.deleted(s, c, m[obj])),
        ("GET", "updated", rf"/sobjects/{_OBJ}/updated", lambda s, c, m: rest.updated(s, c, m[obj])),
        ("GET", "sobject", rf"/sobjects/{_OBJ}", lambda s, c, m: rest.sobject_info(s, c, m[obj])),
        ("POST", "create", rf"/sobjects/{_OBJ}", lambda s, c, m: rest.create_record(s, c, m[obj])),
        ("GET", "retrieve", rf"/sobjects/{_OBJ}/{_ID}",
         lambda s, c, m: rest.get_record(s, c, m[obj], m[rid])),
        ("PATCH", "update", rf"/sobjects/{_OBJ}/{_ID}",
         lambda s, c, m: rest.update_record(s, c, m[obj], m[rid])),
        ("DELETE", "delete", rf"/sobjects/{_OBJ}/{_ID}",
         lambda s, c, m: rest.delete_record(s, c, m[obj], m[rid])),
        ("PATCH", "compositeUpdate", r"/composite/sobjects", lambda s, c, m: rest.collection_update(s, c)),
        ("POST", "compositeCreate", r"/composite/sobjects", lambda s, c, m: rest.collection_create(s, c)),
        ("GET", "limits", r"/limits", lambda s, c, m: rest.limits(s, c)),
        ("POST", "toolingCustomField", r"/tooling/sobjects/customfield",
         lambda s, c, m: tooling.create_custom_field(s, c)),
        ("DELETE", "toolingDeleteCustomField", rf"/tooling/sobjects/customfield/{_ID}",
         lambda s, c, m: tooling.delete_custom_field(s, c, m[rid])),
        ("GET", "chatterMe", r"/chatter/users/me", lambda s, c, m: rest.chatter_me(s, c)),
        ("GET", "listInfo", rf"/ui-api/list-info/{_OBJ}/(?P<view>\w+)",
         lambda s, c, m: list_views.get_list_info(s, c, m[obj], m["view"])),
        ("POST", "createListInfo", rf"/ui-api/list-info/{_OBJ}",
         lambda s, c, m: list_views.create_list_info(s, c, m[obj])),
        ("DELETE", "deleteListInfo", rf"/ui-api/list-info/{_OBJ}/(?P<view>\w+)",
         lambda s, c, m: list_views.delete_list_info(s, c, m[obj], m["view"])),
        ("GET", "toolingQuery", r"/tooling/query",
         lambda s, c, m: rest.query(s, c, include_deleted=False, tooling=True)),
        ("GET", "toolingQueryMore", r"/tooling/query/(?P<loc>01g\w+)-(?P<off>\d+)",
         lambda s, c, m: rest.query_more(s, c, m["loc"], int(m["off"]))),
        ("POST", "bulkQueryJob", r"/jobs/query", lambda s, c, m: bulk_query.create_job(s, c)),
        ("GET", "bulkQueryJobs", r"/jobs/query", lambda s, c, m: bulk_query.list_jobs(s, c)),
        ("GET", "bulkQueryJobInfo", r"/jobs/query/(?P<job>750\w+)",
         lambda s, c, m: bulk_query.get_job(s, c, m[job])),
        ("PATCH", "bulkQueryJobState", r"/jobs/query/(?P<job>750\w+)",
         lambda s, c, m: bulk_query.abort_job(s, c, m[job])),
        ("DELETE", "bulkQueryDeleteJob", r"/jobs/query/(?P<job>750\w+)",
         lambda s, c, m: bulk_query.delete_job(s, c, m[job])),
        ("GET", "bulkQueryResults", r"/jobs/query/(?P<job>750\w+)/results",
         lambda s, c, m: bulk_query.results(s, c, m[job])),
        ("POST", "bulkCreateJob", r"/jobs/ingest", lambda s, c, m: bulk.create_job(s, c)),
        ("GET", "bulkListJobs", r"/jobs/ingest", lambda s, c, m: bulk.list_jobs(s, c)),
        ("GET", "bulkJob", r"/jobs/ingest/(?P<job>750\w+)", lambda s, c, m: bulk.get_job(s, c, m[job])),
        ("PATCH", "bulkJobState", r"/jobs/ingest/(?P<job>750\w+)",
         lambda s, c, m: bulk.set_state(s, c, m[job])),
        ("DELETE", "bulkDeleteJob", r"/jobs/ingest/(?P<job>750\w+)",
         lambda s, c, m: bulk.delete_job(s, c, m[job])),
        ("PUT", "bulkUpload", r"/jobs/ingest/(?P<job>750\w+)/batches",
         lambda s, c, m: bulk.upload(s, c, m[job])),
        ("GET", "bulkResults", r"/jobs/ingest/(?P<job>750\w+)/(?P<kind>\w+)",
         lambda s, c, m: bulk.results(s, c, m[job], m["kind"])),
    ]  # fmt: skip
    return [
        (method, name, re.compile(_V + path + "$", re.IGNORECASE), fn) for method, name, path, fn in table
    ]


_ROUTES = _routes()
_VERSION = re.compile(r"/services/data/v(?P<v>\d+\.\d)(?:/|$)", re.IGNORECASE)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    media = "application/json;charset=UTF-8" if body is not None else None
    return Response(content, status_code=status, headers=headers, media_type=media)


def _reply(reply: Reply) -> Response:
    if reply.text is not None:
        return Response(
            reply.text, status_code=reply.status, headers=reply.headers, media_type=reply.media_type
        )
    return _json(reply.status, reply.body, reply.headers)


def create_app(state: SalesforceState) -> ASGIApp:
    """The emulator as an ASGI app bound to one org state (wrapped so faults can drop connections)."""
    app = FastAPI(title="lawful-crm Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def dispatch(request: Request, path: str) -> Response:
        started = time.perf_counter()
        route_path = "/" + path.rstrip("/")
        if route_path.lower().startswith("/__sandbox"):
            response = await _admin(state, request, route_path)
            endpoint = "admin"
        else:
            endpoint, response = await _api(state, request, route_path)
        state.counters[f"{request.method} {endpoint}"] += 1
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        entry = {"method": request.method, "endpoint": endpoint, "path": route_path, "ms": elapsed}
        state.request_log.append(entry | {"status": response.status_code})
        return response

    return _DropConnections(app, state)


async def _api(state: SalesforceState, request: Request, route_path: str) -> tuple[str, Response]:
    state.housekeeping()
    if route_path.lower() == "/services/oauth2/token" and request.method == "POST":
        status, granted = oauth.token(state, await request.body(), request.headers.get("authorization"))
        return "token", _json(status, granted, {"Cache-Control": "no-store"})
    if route_path.lower() == "/services/data" and request.method == "GET":
        return "versions", _with_limits(state, _reply(rest.versions(state)))
    version = _VERSION.match(route_path)
    if version and (status := state.version_status(version["v"])) != 200:
        if status == 410:
            gone = "The requested API version has been retired. Use a supported version."
            return "retiredVersion", _with_limits(
                state, _json(410, [{"message": gone, "errorCode": "UNSUPPORTED_API_VERSION"}])
            )
        return "unknownVersion", _with_limits(state, _json(404, rest.not_found().body()))
    match: re.Match[str] | None = None
    endpoint, handler = "unknown", None
    for method, name, pattern, fn in _ROUTES:
        found = pattern.match(route_path)
        if found and method == request.method:
            match, endpoint, handler = found, name, fn
            break
        if found and match is None:
            endpoint = "methodNotAllowed"
    delay = state.faults.delay()
    if delay:
        await asyncio.sleep(delay)
    if (failure := state.faults.request_error()) is not None:
        code, message = error_body(failure)
        return endpoint, _with_limits(state, _json(failure, [{"message": message, "errorCode": code}]))
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not state.token_valid(token):
        expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        return endpoint, _with_limits(state, _json(401, expired))
    if not state.spend_request():
        spent = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return endpoint, _with_limits(state, _json(403, spent))
    try:
        if handler is None or match is None:
            if endpoint == "methodNotAllowed":
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
            raise rest.not_found()
        body = await request.body()
        call = Call(request.method, match["v"], dict(request.query_params), dict(request.headers), body)
        response = _reply(handler(state, call, match))
    except ApiError as exc:
        response = _json(exc.status, exc.body())
    return endpoint, _with_limits(state, response)


def _with_limits(state: SalesforceState, response: Response) -> Response:
    response.headers["Sforce-Limit-Info"] = state.limit_info()
    return response


async def _admin(state: SalesforceState, request: Request, route_path: str) -> Response:
    parts = route_path.strip("/").split("/")[1:]
    if parts == ["faults"]:
        if request.method == "POST":
            try:
                state.faults.configure(**(await request.json()))
            except (ValueError, TypeError) as exc:
                return _json(400, {"error": str(exc)})
        return _json(200, state.faults.settings())
    if len(parts) == 3 and parts[0] == "records":
        record = state.record_json(parts[1], parts[2])
        return _json(200, record) if record is not None else _json(404, {"error": "no such record"})
    if parts == ["stats"]:
        stats = {
            "counters": dict(state.counters),
            "api_used": state.api_used,
            "bulk_requests": sum(
                n for key, n in state.counters.items() if key.split(" ")[-1].startswith("bulk")
            ),
            "daily_limit": state.daily_limit,
        }
        return _json(200, stats)
    if parts == ["log"]:
        return _json(200, list(state.request_log))
    if parts == ["clock"]:
        if request.method == "POST":
            body = await request.json()
            state.clock.advance(**{k: float(v) for k, v in body.items()})
        return _json(
            200, {"now": state.clock.now().isoformat(), "offset_s": state.clock.offset.total_seconds()}
        )
    if parts == ["rules"]:
        if request.method == "POST":
            body = dict(await request.json())
            try:
                state.rules.add(str(body.pop("kind", "")), **body)
            except (TypeError, ValueError) as exc:
                return _json(400, {"error": str(exc)})
        elif request.method == "DELETE":
            state.rules.clear()
        return _json(200, [type(rule).__name__ + ":" + rule.name for rule in state.rules.rules])
    if parts == ["restricted-fields"] and request.method == "POST":
        body = await request.json()
        for name in body.get("restrict", []):
            state.store.restrict(*str(name).split(".", 1))
        for name in body.get("allow", []):
            state.store.unrestrict(*str(name).split(".", 1))
        return _json(200, {"ok": True})
    if parts == ["expire-tokens"] and request.method == "POST":
        state.expire_tokens()
        return _json(200, {"expired": True})
    if parts == ["user-edits"] and request.method == "POST":
        from crm_sandbox.edits import salesforce_user_edits

        body = await request.json()
        ids = salesforce_user_edits(
            state, int(body["count"]), seed=int(body.get("seed", 1)), today=date.fromisoformat(body["today"])
        )
        return _json(200, {"edited": len(ids), "ids": ids})
    if parts == ["quota"] and request.method == "POST":
        body = await request.json()
        state.api_used = int(body.get("used", state.api_used))
        state.daily_limit = int(body.get("limit", state.daily_limit))
        return _json(200, {"api_used": state.api_used, "daily_limit": state.daily_limit})
    return _json(404, {"error": "unknown admin resource"})


class _DropConnections:
    """ASGI wrapper that, when the fault fires, declares a body it never finishes (a dropped connection).

    It also writes header names as Salesforce's HTTP/1.1 servers do (`Content-Type`, `Sforce-Locator`): some
    clients look headers up in a plain dict by that spelling (Airbyte's CDK reads `content-type` from one, and
    stumbles only when the server sends lower case)."""

    def __init__(self, app: ASGIApp, state: SalesforceState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/services/") and self.state.faults.drop():
            self.state.counters["dropped"] += 1
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"Content-Length", b"4096")]}
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": False})
            return

        async def send_as_salesforce(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(_title(name), value) for name, value in message.get("headers", [])]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_as_salesforce)


def _title(name: bytes) -> bytes:
    """`content-type` -> `Content-Type`."""
    return b"-".join(part[:1].upper() + part[1:] for part in name.split(b"-"))
