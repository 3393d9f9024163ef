"""The ASGI application: FastAPI routes behind a gate that does what HubSpot does before any handler runs.

The gate, in order: skips ``/__sandbox`` admin routes; lets ``/oauth/v1/token`` through without a bearer token
or rate limit (logged and counted); checks the bearer token, the private-app token or a live OAuth access token
(401 ``INVALID_AUTHENTICATION``, or ``EXPIRED_AUTHENTICATION`` for an expired OAuth token and while the
expired-token fault is on); applies injected faults (delay, dropped connection, an error status or a storm of
them, a 429 answered as the ten-secondly limit); applies the rate limits (429 with the documented body); adds
the ``X-HubSpot-RateLimit-*`` headers (not on search, as HubSpot) and a correlation id; counts and logs the
request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_sandbox.hubspot.admin import ADMIN, build_admin_router
from crm_sandbox.hubspot.api_lists import build_lists_router
from crm_sandbox.hubspot.api_meta import build_meta_router
from crm_sandbox.hubspot.api_objects import build_objects_router
from crm_sandbox.hubspot.api_prefs import build_prefs_router
from crm_sandbox.hubspot.errors import JSON_TYPE, ApiError, correlation_id, error_body, error_response
from crm_sandbox.hubspot.limits import rate_limit_body
from crm_sandbox.hubspot.oauth import TOKEN_PATH, build_oauth_router
from crm_sandbox.hubspot.state import HubSpotState

UNAUTHENTICATED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
EXPIRED = "The OAuth token used to make this call expired 0 second(s) ago."


def create_app(state: HubSpotState) -> ASGIApp:
    """The emulator for one sandbox account, ready for uvicorn."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    api.include_router(build_admin_router(state))
    api.include_router(build_objects_router(state))
    api.include_router(build_meta_router(state))
    api.include_router(build_prefs_router(state))
    api.include_router(build_lists_router(state))
    api.include_router(build_oauth_router(state.oauth))

    @api.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return exc.response()

    @api.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> Response:
        category = "OBJECT_NOT_FOUND" if exc.status_code == 404 else "VALIDATION_ERROR"
        return error_response(
            exc.status_code, category, "Not found." if exc.status_code == 404 else str(exc.detail)
        )

    @api.exception_handler(ValueError)
    async def bad_value(_request: Request, exc: ValueError) -> Response:
        return error_response(400, "VALIDATION_ERROR", "Invalid input.")

    return Gate(api, state)


class Gate:
    """Raw ASGI middleware (cheaper than BaseHTTPMiddleware) in front of the FastAPI app."""

    def __init__(self, app: FastAPI, state: HubSpotState) -> None:
        self.app = app
        self.state = state
        self.routes = _flatten(app.router.routes)

    def endpoint(self, scope: Scope) -> str:
        """The route template a request matches (``/crm/v3/objects/contacts/{contact_id}``), or ``unmatched``.

        Logged instead of the raw path, which can hold an e-mail address.
        """
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "unmatched"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = self.state
        endpoint = self.endpoint(scope)
        status = [0]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                # counted before the client can see the answer, so counters never lag behind the client
                state.log_request(scope["method"], endpoint, status[0], started)
            await send(message)

        try:
            await self._handle(scope, receive, send_logged, endpoint)
        finally:
            if status[0] == 0:  # no response was started (the connection dropped)
                state.log_request(scope["method"], endpoint, status[0], started)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, endpoint: str) -> None:
        state = self.state
        await state.store.wait_seeded()  # the scan of the seed (started with the server) is done first
        state.store.purge_expired()  # archived contacts past their retention are gone before any read
        if scope["path"] == TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        auth = _header(scope, b"authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        known = state.token_status(token) if token else None
        if known is None:
            await _send_json(send, 401, error_body("INVALID_AUTHENTICATION", UNAUTHENTICATED))
            return
        faults = state.faults
        if known == "expired" or faults.token_expired:
            await _send_json(send, 401, error_body("EXPIRED_AUTHENTICATION", EXPIRED))
            return
        delay = faults.delay()
        if delay:
            await asyncio.sleep(delay)
        if faults.drop():
            head = [(b"content-type", JSON_TYPE.encode()), (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": b'{"results":[', "more_body": True})
            return  # uvicorn closes the connection mid-body: the client sees a dropped connection
        failure = faults.request_error()
        if failure is not None and failure != 429:
            category = "INTERNAL_ERROR" if failure >= 500 else "VALIDATION_ERROR"
            await _send_json(send, failure, error_body(category, "Internal error. Please try again later."))
            return
        search = endpoint.endswith("/search")
        policy = "TEN_SECONDLY_ROLLING" if failure == 429 else state.limits.check(search=search)
        limit_headers = {} if search else state.limits.headers()
        if policy:
            if failure == 429 and "X-HubSpot-RateLimit-Remaining" in limit_headers:
                limit_headers["X-HubSpot-RateLimit-Remaining"] = "0"
            if state.limits.retry_after:
                limit_headers["Retry-After"] = "1" if policy == "SECONDLY" else "10"
            await _send_json(send, 429, rate_limit_body(policy, state.app_id), limit_headers)
            return
        extra = [(k.encode(), v.encode()) for k, v in limit_headers.items()]
        extra.append((b"x-hubspot-correlation-id", correlation_id().encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _flatten(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The leaf routes (FastAPI wraps included routers in objects that carry no path)."""
    out: list[BaseRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_flatten(inner.routes) if inner is not None else [route])
    return out


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    raw = [(b"content-type", JSON_TYPE.encode()), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"x-hubspot-correlation-id", str(body.get("correlationId", correlation_id())).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
