"""Vendor answers -> connector errors, by HTTP status, HubSpot error category and 429 ``policyName``.

hubspot-api-client raises a different ``ApiException`` class in every sub-package, so classes are never
compared: an exception with an integer ``status`` is an answer from HubSpot, a urllib3 or OS error is a
transport failure. Only structured fields are read from a body (``category``, ``policyName``, the names in
``errors[].in``; the token endpoint's ``status`` reason); bodies hold personal data and never reach a message or
a log, and translated errors are raised ``from None`` so no traceback carries the vendor exception's text.

====================================  =========================================================
401                                   AuthenticationError (the caller refreshes an OAuth token first)
403                                   ConfigurationError (a scope or permission is missing)
423                                   RecordLockedError (retriable)
429 DAILY                             QuotaExhaustedError (the run stops cleanly)
429 TEN_SECONDLY_ROLLING / SECONDLY   RateLimitedError (the limiter holds the next call)
477, 5xx, 0, transport failures       ServiceUnavailableError (retriable)
anything else (400, 404, 409, …)      RequestRejected, a CrmContractError the caller may handle
====================================  =========================================================
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    CrmContractError,
    QuotaExhaustedError,
    RateLimitedError,
    RecordLockedError,
    ServiceUnavailableError,
)

__all__ = ["RateHeaders", "RequestRejected", "VendorAnswer", "answer_of", "is_transport_failure", "translate"]

DAILY, SECONDLY = "DAILY", "SECONDLY"


class RequestRejected(CrmContractError):
    """HubSpot refused a request for a reason the caller may handle (a 409 on create, a 400 on a batch)."""

    def __init__(
        self, message: str, *, status: int, category: str | None, fields: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.fields = fields
        """Property names the error names (``errors[].in``)."""


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """The ``X-HubSpot-RateLimit-*`` headers of one response; each may be missing."""

    limit: int | None = None
    remaining: int | None = None
    window_ms: int | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def of(cls, headers: Mapping[str, Any] | None) -> RateHeaders:
        if not headers:
            return cls()
        return cls(
            limit=_int(headers, "X-HubSpot-RateLimit-Max"),
            remaining=_int(headers, "X-HubSpot-RateLimit-Remaining"),
            window_ms=_int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"),
            daily=_int(headers, "X-HubSpot-RateLimit-Daily"),
            daily_remaining=_int(headers, "X-HubSpot-RateLimit-Daily-Remaining"),
        )


@dataclass(frozen=True, slots=True)
class VendorAnswer:
    """The structured parts of an error answer: never its message or body text."""

    status: int
    category: str | None = None
    policy: str | None = None
    retry_after: float | None = None
    rate: RateHeaders = RateHeaders()
    fields: tuple[str, ...] = ()


def answer_of(exc: BaseException) -> VendorAnswer | None:
    """The answer an SDK exception carries, or None when ``exc`` is not an answer from HubSpot."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or isinstance(status, bool):
        return None
    body = _json(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None)
    category = _text(body.get("category"))
    reason = _text(body.get("status"))
    errors = body.get("errors")
    fields = tuple(
        name
        for item in (errors if isinstance(errors, list) else [])
        if isinstance(item, dict) and (name := _text(item.get("in")))
    )
    return VendorAnswer(
        status=status,
        category=category or (reason if reason not in (None, "error") else None),
        policy=_text(body.get("policyName")),
        retry_after=_float(headers, "Retry-After"),
        rate=RateHeaders.of(headers if isinstance(headers, Mapping) else None),
        fields=fields,
    )


def is_transport_failure(exc: BaseException) -> bool:
    """A dropped connection, refused connection or timeout (urllib3 raises these raw, not as ApiException)."""
    return isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | socket.timeout | TimeoutError)


def translate(answer: VendorAnswer, *, operation: str) -> ConnectorError:
    """The connector error for an error answer to ``operation`` (a name such as ``contacts.search``)."""
    code = answer.category or "no category"
    where = f"HubSpot answered {answer.status} ({code}) to {operation}"
    status = answer.status
    if status == 401:
        return AuthenticationError(f"{where}: the credentials were refused")
    if status == 403:
        return ConfigurationError(f"{where}: the app lacks a scope or permission")
    if status == 423:
        return RecordLockedError(f"{where}: locked, retry later", record_id="")
    if status == 429:
        if answer.policy == DAILY:
            return QuotaExhaustedError(f"{where}: the daily API limit is spent (policy {DAILY})")
        wait = answer.retry_after if answer.retry_after is not None else 0.0
        return RateLimitedError(f"{where}: rate limited (policy {answer.policy})", retry_after=wait)
    if status == 0 or status == 477 or status >= 500:
        return ServiceUnavailableError(f"{where}: the service is unavailable")
    return RequestRejected(f"{where}", status=status, category=answer.category, fields=answer.fields)


def _json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(headers: Mapping[str, Any], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _float(headers: Any, name: str) -> float | None:
    raw = headers.get(name) if isinstance(headers, Mapping) else None
    try:
        value = float(str(raw)) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None
