"""The webhook receiver (ASGI, served by uvicorn): verify, de-duplicate, queue, answer. It never classifies.

Routes:

- ``POST /webhooks/hubspot``: a signed batch of up to 100 HubSpot events (v3 signature; v2 when allowed).
- ``POST /webhooks/salesforce/signed``: a signed JSON callout from Apex or a Flow (docs/salesforce-signed-webhook.md).
- ``POST /webhooks/salesforce/{secret}``: a Salesforce Outbound Message, answered with the SOAP Ack.
- ``GET /healthz`` and ``GET /metrics`` (Prometheus text; left out when ``[metrics] port`` serves it apart).

Every refusal is answered with a status (401 unproven sender, 400 malformed, 413 too large, 404 not configured,
503 store unavailable: the CRM delivers again), counted by reason, and logged with codes only: no body, header
value or path secret ever reaches a log line or a metric label.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector.errors import StoreUnavailable
from connector.store.queue import Enqueued, EventQueue
from connector.webhooks.body import BadContentLength, BodyTooLarge, read_limited
from connector.webhooks.committer import GroupCommitter
from connector.webhooks.config import ReceiverConfig
from connector.webhooks.events import (
    Intake,
    MalformedPayload,
    hubspot_intake,
    outbound_intake,
    signed_json_intake,
)
from connector.webhooks.metrics import Metrics, StoreGauges
from connector.webhooks.outbound import ACK, MalformedMessage, parse_outbound_message, same_org
from connector.webhooks.signatures import (
    SignatureRejected,
    request_uri,
    verify_hubspot_v2,
    verify_hubspot_v3,
    verify_signed_json,
)

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "create_app"]

log = logging.getLogger("lawful_crm.webhooks")

SIGNATURE_HEADER = "X-Lawful-Signature"
TIMESTAMP_HEADER = "X-Lawful-Timestamp"

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text format ``generate_latest`` writes (by default) and every Prometheus version reads."""

Clock = Callable[[], datetime]
Health = Callable[[], Mapping[str, Any]]
"""Extra health facts (worker and scheduler alive); ``{"ok": False}`` turns /healthz into 503."""


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Receiver:
    def __init__(
        self,
        config: ReceiverConfig,
        queue: EventQueue,
        metrics: Metrics,
        on_queued: Callable[[], None],
        clock: Clock,
        health: Health,
        gauges: StoreGauges,
    ) -> None:
        self.config, self.queue, self.metrics = config, queue, metrics
        self.scraped = metrics.scrape(gauges)
        self.on_queued, self.clock, self.health = on_queued, clock, health
        self.committer = GroupCommitter(queue, clock)

    # -- routes ----------------------------------------------------------------------------------------------

    async def hubspot(self, request: Request) -> Response:
        return await self._guarded("hubspot", request, self._hubspot)

    async def salesforce_outbound(self, request: Request) -> Response:
        return await self._guarded("salesforce", request, self._salesforce_outbound)

    async def salesforce_signed(self, request: Request) -> Response:
        return await self._guarded("salesforce", request, self._salesforce_signed)

    async def healthz(self, request: Request) -> Response:
        try:
            pending = await run_in_threadpool(self.queue.pending)
        except StoreUnavailable:
            self.metrics.inc("lawful_crm_errors_total", crm="all", code="store_unavailable")
            return JSONResponse({"status": "store_unavailable"}, status_code=503)
        facts = dict(self.health())
        healthy = facts.pop("ok", True)
        body = {"status": "ok" if healthy else "degraded", "pending_events": pending, **facts}
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_text(self, request: Request) -> Response:
        text = await run_in_threadpool(generate_latest, self.scraped)  # the store's gauges are read
        return Response(text, media_type=METRICS_CONTENT_TYPE)

    # -- the checks of each sender -------------------------------------------------------------------------

    async def _hubspot(self, request: Request) -> Response:
        config = self.config.hubspot
        if config is None:
            raise _Refused(404, "not_configured")
        headers = request.headers
        v3 = headers.get("x-hubspot-signature-v3")
        v2 = config.accept_v2 and headers.get("x-hubspot-signature-version", "").lower() == "v2"
        if v3 is None and not v2:
            raise SignatureRejected("missing_signature")
        body = await read_limited(request, self.config.max_body_bytes)
        uri = self._uri(request)
        if v3 is not None:
            stamp = headers.get("x-hubspot-request-timestamp")
            verify_hubspot_v3(
                config.secret, method=request.method, uri=uri, body=body, timestamp=stamp, signature=v3,
                now_ms=self._now_ms(),
            )  # fmt: skip
        else:
            signature = headers.get("x-hubspot-signature")
            verify_hubspot_v2(config.secret, method=request.method, uri=uri, body=body, signature=signature)
        await self._queue("hubspot", hubspot_intake(body, config.rules))
        return JSONResponse({"status": "queued"})

    async def _salesforce_outbound(self, request: Request) -> Response:
        config = self.config.salesforce
        if config is None or config.path_secret is None or config.org_id is None:
            raise _Refused(404, "not_configured")
        given = str(request.path_params.get("secret", "")).encode()
        if not hmac.compare_digest(given, config.path_secret.encode()):
            raise _Refused(401, "bad_path_secret")
        message = parse_outbound_message(await read_limited(request, self.config.max_body_bytes))
        if not same_org(config.org_id, message.organization_id):
            raise _Refused(401, "wrong_org")
        intake = outbound_intake(message, config.object_types, integration_user=config.integration_user)
        await self._queue("salesforce", intake)
        return Response(ACK, media_type="text/xml; charset=utf-8")

    async def _salesforce_signed(self, request: Request) -> Response:
        config = self.config.salesforce
        if config is None or config.signing_secret is None:
            raise _Refused(404, "not_configured")
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise SignatureRejected("missing_signature")
        body = await read_limited(request, self.config.max_body_bytes)
        verify_signed_json(
            config.signing_secret, body=body, timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=signature, now_ms=self._now_ms(),
        )  # fmt: skip
        org_id, intake = signed_json_intake(body, config.object_types)
        if config.org_id is not None and (org_id is None or not same_org(config.org_id, org_id)):
            raise _Refused(401, "wrong_org")
        await self._queue("salesforce", intake)
        return JSONResponse({"status": "queued"})

    # -- shared ----------------------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def _uri(self, request: Request) -> str:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        return request_uri(
            public_base_url=self.config.public_base_url,
            scheme=request.url.scheme,
            host=request.headers.get("host", ""),
            raw_path=raw_path.decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
        )

    async def _queue(self, crm: str, intake: Intake) -> None:
        result = await self.committer.store(crm, intake.events) if intake.events else Enqueued(0, 0)
        metrics = self.metrics
        metrics.inc("lawful_crm_webhook_events_received_total", intake.received, crm=crm)
        metrics.inc("lawful_crm_webhook_events_queued_total", result.queued, crm=crm)
        metrics.inc("lawful_crm_webhook_events_duplicate_total", result.duplicates, crm=crm)
        for reason, count in intake.ignored.items():
            metrics.inc("lawful_crm_webhook_events_ignored_total", count, crm=crm, reason=reason)
        if result.queued:
            self.on_queued()

    async def _guarded(
        self, crm: str, request: Request, handler: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            response = await handler(request)
        except BodyTooLarge:
            response = self._refuse(crm, 413, "body_too_large")
        except BadContentLength:
            response = self._refuse(crm, 400, "bad_content_length")
        except SignatureRejected as rejected:
            response = self._refuse(crm, 401, rejected.reason)
        except (MalformedPayload, MalformedMessage) as malformed:
            response = self._refuse(crm, 400, malformed.reason)
        except _Refused as refused:
            response = self._refuse(crm, refused.status, refused.reason)
        except ClientDisconnect:
            response = self._refuse(crm, 400, "client_disconnect")
        except StoreUnavailable as error:
            log.error("%s webhook not queued: the store failed (%s)", crm, type(error.__cause__).__name__)
            self.metrics.inc("lawful_crm_errors_total", crm=crm, code="store_unavailable")
            response = self._refuse(crm, 503, "store_unavailable")
        except Exception as error:  # a bug must cost one delivery (the CRM retries), never the server
            log.error("%s webhook failed: %s", crm, type(error).__name__)
            self.metrics.inc("lawful_crm_errors_total", crm=crm, code="internal")
            response = self._refuse(crm, 500, "internal")
        self.metrics.inc("lawful_crm_webhook_requests_total", crm=crm, status=str(response.status_code))
        return response

    def _refuse(self, crm: str, status: int, reason: str) -> Response:
        self.metrics.inc("lawful_crm_webhook_rejected_total", crm=crm, reason=reason)
        log.info("%s webhook refused: %s %s", crm, status, reason)
        return JSONResponse({"error": reason}, status_code=status)


def create_app(
    config: ReceiverConfig,
    queue: EventQueue,
    metrics: Metrics,
    *,
    on_queued: Callable[[], None] = lambda: None,
    clock: Clock = _utc_now,
    health: Health = dict,
    gauges: StoreGauges | None = None,
    metrics_route: bool = True,
) -> Starlette:
    """The receiver's ASGI app; ``on_queued`` wakes the worker when new events were stored. ``gauges`` are
    read from the store at each scrape (the queue's alone by default); without ``metrics_route`` the metrics
    are served elsewhere (an internal port)."""
    receiver = _Receiver(config, queue, metrics, on_queued, clock, health, gauges or StoreGauges(queue))
    routes = [
        Route("/webhooks/hubspot", receiver.hubspot, methods=["POST"]),
        Route("/webhooks/salesforce/signed", receiver.salesforce_signed, methods=["POST"]),
        Route("/webhooks/salesforce/{secret}", receiver.salesforce_outbound, methods=["POST"]),
        Route("/healthz", receiver.healthz, methods=["GET"]),
    ]
    if metrics_route:
        routes.append(Route("/metrics", receiver.metrics_text, methods=["GET"]))
    return Starlette(routes=routes)
