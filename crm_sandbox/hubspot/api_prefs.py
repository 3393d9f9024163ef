"""Communication preferences: subscription definitions (v3), the v4 status batch read and status write, the v4
"unsubscribed from all" batch read, and an admin route that sets a status as a user in HubSpot would.

As HubSpot: ``channel`` is a required query parameter and only ``EMAIL`` is a channel of these endpoints (400
otherwise); a body key the request model lacks is a 400; a batch takes at most ``MAX_INPUTS`` subscriber ids
(e-mail addresses) and names none twice; an address that is malformed or that no contact has is a per-input
error of a 207 answer while the others are answered. The limit of 1,000 inputs is the one HubSpot's other v4
batch reads have (the status batch read documents none).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_sandbox.hubspot.admin import ADMIN
from crm_sandbox.hubspot.api_objects import body_json
from crm_sandbox.hubspot.errors import ApiError, json_response
from crm_sandbox.hubspot.properties import iso_ms
from crm_sandbox.hubspot.search import to_ms
from crm_sandbox.hubspot.state import HubSpotState
from crm_sandbox.hubspot.strict import known_keys, known_params, unique_ids
from crm_sandbox.hubspot.subscriptions import LEGAL_BASES, STATES, Status

V3 = "/communication-preferences/v3"
V4 = "/communication-preferences/v4"
MAX_INPUTS = 1000
CHANNELS = frozenset({"EMAIL"})
UPDATE_KEYS = frozenset({"channel", "statusState", "subscriptionId", "legalBasis", "legalBasisExplanation"})
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _channel(request: Request) -> str:
    known_params(request, frozenset({"channel"}))
    channel = request.query_params.get("channel")
    if channel is None:
        raise ApiError(400, "VALIDATION_ERROR", "Required query parameter channel is missing.")
    if channel not in CHANNELS:
        raise ApiError(400, "VALIDATION_ERROR", f"Invalid channel: {channel}. Supported channels: EMAIL.")
    return channel


def _subscribers(body: dict[str, Any], model: str) -> list[str]:
    known_keys(body, {"inputs"}, model)
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise ApiError(400, "VALIDATION_ERROR", "inputs must be a list of subscriber id strings")
    if len(inputs) > MAX_INPUTS:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Batch input size exceeds maximum of {MAX_INPUTS}",
            subCategory="TOO_MANY_INPUTS",
        )
    unique_ids(i.strip().lower() for i in inputs)
    return list(inputs)


def _batch(results: list[dict[str, Any]], invalid: list[str], missing: list[str], started: str) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "requestedAt": started,
                            "startedAt": started, "completedAt": iso_ms(datetime.now(UTC))}  # fmt: skip
    errors = [
        {
            "status": "error",
            "category": category,
            "message": message,
            "context": {"subscriberIdString": ids},
            "errors": [],
            "links": {},
        }
        for category, message, ids in (
            ("VALIDATION_ERROR", "Invalid subscriber id string (not an e-mail address).", invalid),
            ("OBJECT_NOT_FOUND", "No contact has this subscriber id string.", missing),
        )
        if ids
    ]
    if errors:
        body["errors"], body["numErrors"] = errors, len(invalid) + len(missing)
        return json_response(body, 207)
    return json_response(body)


def build_prefs_router(state: HubSpotState) -> APIRouter:
    """Communication-preferences routes bound to one sandbox account."""
    router = APIRouter()
    subs = state.subscriptions

    @router.get(f"{V3}/definitions")
    async def definitions(request: Request) -> Response:
        known_params(request, frozenset())
        return json_response({"subscriptionDefinitions": [d.to_v3() for d in subs.definitions.values()]})

    @router.post(f"{V4}/statuses/batch/read")
    async def batch_read(request: Request) -> Response:
        _channel(request)
        started = iso_ms(datetime.now(UTC))
        results: list[dict[str, Any]] = []
        invalid: list[str] = []
        missing: list[str] = []
        for subscriber in _subscribers(await body_json(request), "BatchInputString"):
            if not _ADDRESS.fullmatch(subscriber.strip()):
                invalid.append(subscriber)
                continue
            statuses = subs.statuses(subscriber)
            if statuses is None:
                missing.append(subscriber)
                continue
            names = subs.definitions
            shown = [s.to_v4(subscriber, names[s.subscription_id].name) for s in statuses]
            results.append({"subscriberIdString": subscriber, "statuses": shown})
        return _batch(results, invalid, missing, started)

    @router.post(f"{V4}/statuses/batch/unsubscribe-all/read")
    async def wide_read(request: Request) -> Response:
        _channel(request)
        started = iso_ms(datetime.now(UTC))
        results: list[dict[str, Any]] = []
        invalid: list[str] = []
        missing: list[str] = []
        for subscriber in _subscribers(await body_json(request), "BatchInputString"):
            contacts = subs.contacts_of(subscriber) if _ADDRESS.fullmatch(subscriber.strip()) else None
            if contacts is None:
                invalid.append(subscriber)
            elif not contacts:
                missing.append(subscriber)
            else:
                props = state.store.properties(contacts[0])
                wide = {"channel": "EMAIL", "subscriberIdString": subscriber, "wideStatusType": "PORTAL_WIDE",
                        "status": "UNSUBSCRIBED" if props.get("hs_email_optout") == "true" else "SUBSCRIBED",
                        "timestamp": props.get("lastmodifieddate"), "businessUnitId": 0}  # fmt: skip
                results.append({"subscriberIdString": subscriber, "wideStatuses": [wide]})
        return _batch(results, invalid, missing, started)

    @router.post(f"{V4}/statuses/{{subscriber}}")
    async def set_status(request: Request) -> Response:
        channel = _channel(request)
        subscriber = unquote(request.path_params["subscriber"])
        body = await body_json(request)
        known_keys(body, UPDATE_KEYS, "PartialPublicStatusRequest")
        status = _status(body, channel, state, source="API")
        try:
            subs.set_status(subscriber, status, source="API")
        except KeyError:
            raise ApiError(404, "OBJECT_NOT_FOUND", "No contact has this subscriber id string.") from None
        name = subs.definitions[status.subscription_id].name
        return json_response(
            status.to_v4(subscriber, name) | {"setStatusSuccessReason": "RESUBSCRIBE_OCCURRED"}
        )

    @router.post(f"{ADMIN}/subscriptions/statuses")
    async def ui_status(request: Request) -> Response:
        """A user sets a status in HubSpot: ``{"email", "subscriptionId", "statusState", "legalBasis",
        "timestamp"}`` (``timestamp`` ISO, default now; webhooks say ``changeSource: CRM_UI``)."""
        body = await body_json(request)
        email = str(body.pop("email", ""))
        at = body.pop("timestamp", None)
        status = _status(body | {"channel": "EMAIL"}, "EMAIL", state, source="CRM_UI")
        if at is not None:
            status = Status(status.subscription_id, status.status, _moment(at), status.legal_basis,
                            status.explanation, status.source)  # fmt: skip
        try:
            subs.set_status(email, status, source="CRM_UI")
        except KeyError:
            raise ApiError(404, "OBJECT_NOT_FOUND", "No contact has this address.") from None
        return json_response(status.to_v4(email, subs.definitions[status.subscription_id].name))

    return router


def _status(body: dict[str, Any], channel: str, state: HubSpotState, *, source: str) -> Status:
    """The status a write asks for; 400 for a bad channel, state or basis, 404 for an unknown type."""
    if body.get("channel") != channel:
        raise ApiError(400, "VALIDATION_ERROR", "The body's channel must match the channel query parameter.")
    state_name = body.get("statusState")
    if state_name not in STATES:
        raise ApiError(400, "VALIDATION_ERROR", f"statusState must be one of {', '.join(STATES)}.")
    basis = body.get("legalBasis")
    if basis is not None and basis not in LEGAL_BASES:
        raise ApiError(400, "VALIDATION_ERROR", f"legalBasis must be one of {', '.join(LEGAL_BASES)}.")
    subscription_id = str(body.get("subscriptionId", ""))
    if subscription_id not in state.subscriptions.definitions:
        raise ApiError(404, "OBJECT_NOT_FOUND", "Subscription definition not found.")
    explanation = body.get("legalBasisExplanation")
    return Status(
        subscription_id,
        str(state_name),
        state.clock.now(),
        str(basis) if basis is not None else None,
        str(explanation) if explanation is not None else None,
        source="Self service" if source == "API" else "CRM UI",
    )


def _moment(value: Any) -> datetime:
    ms = to_ms(str(value))
    if ms is None:
        raise ApiError(400, "VALIDATION_ERROR", "timestamp must be an ISO date-time")
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
