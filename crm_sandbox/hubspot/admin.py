"""Sandbox-only admin endpoints under ``/__sandbox``: faults, limits, OAuth token lifetime and expiry, counters,
request log, stored records.

They need no token and count against no limit. Never exposed by a real HubSpot; used by tests, benchmarks and
admins rehearsing failure handling (e.g. ``curl -XPOST .../__sandbox/faults -d '{"error_rate":0.1}'``; the
keys are both emulators', ``crm_sandbox.faults``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.api_objects import body_json
from crm_sandbox.hubspot.errors import ApiError, json_response
from crm_sandbox.hubspot.properties import PropertyError
from crm_sandbox.hubspot.state import HubSpotState

ADMIN = "/__sandbox"


def build_admin_router(state: HubSpotState) -> APIRouter:
    """Admin routes bound to one sandbox account."""
    router = APIRouter()

    @router.get(f"{ADMIN}/faults")
    async def get_faults() -> Response:
        return json_response(state.faults.settings())

    @router.post(f"{ADMIN}/faults")
    async def set_faults(request: Request) -> Response:
        try:
            settings = state.faults.configure(**await body_json(request))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        return json_response(settings)

    @router.post(f"{ADMIN}/limits")
    async def set_limits(request: Request) -> Response:
        body = await body_json(request)
        reset = bool(body.pop("reset", False))
        try:
            state.limits.configure(**body)
        except ValueError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        if reset:
            state.limits.reset()
        return json_response(state.limits.headers())

    @router.post(f"{ADMIN}/oauth")
    async def set_oauth(request: Request) -> Response:
        """``{"lifetime_s": 5}`` for tokens issued from now on; ``{"expire": true}`` ends the issued ones."""
        body = await body_json(request)
        try:
            result = state.oauth.configure(
                lifetime_s=body.get("lifetime_s"), expire=bool(body.get("expire", False))
            )
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from None
        return json_response(result)

    @router.get(f"{ADMIN}/stats")
    async def stats() -> Response:
        """Counters; answered once the scan of the seed is done (so a client may wait for it here)."""
        await state.store.wait_seeded()
        return json_response(state.stats())

    @router.get(f"{ADMIN}/requests")
    async def requests_log() -> Response:
        return json_response([asdict(r) for r in list(state.requests)])

    @router.get(f"{ADMIN}/records/contacts/{{contact_id}}")
    async def record(contact_id: str) -> Response:
        found = state.record(contact_id)
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", "No such contact.")
        return json_response(found)

    @router.post(f"{ADMIN}/records/contacts/{{contact_id}}")
    async def ui_change(contact_id: str, request: Request) -> Response:
        """Simulate a user editing the contact in the HubSpot UI (webhooks say ``changeSource: CRM_UI``)."""
        try:
            changed = state.ui_update(contact_id, dict((await body_json(request)).get("properties") or {}))
        except KeyError:
            raise ApiError(404, "OBJECT_NOT_FOUND", "No such contact.") from None
        except PropertyError as exc:
            raise ApiError(exc.status, exc.category, exc.message) from None
        return json_response({"changed": changed})

    @router.post(f"{ADMIN}/user-edits")
    async def user_edits(request: Request) -> Response:
        from crm_sandbox.edits import hubspot_user_edits

        body = await request.json()
        ids = hubspot_user_edits(
            state, int(body["count"]), seed=int(body.get("seed", 1)), today=date.fromisoformat(body["today"])
        )
        return json_response({"edited": len(ids), "ids": ids})

    return router
