"""Webhook signatures: HubSpot v3 (and v2) and the signed Salesforce JSON callout. Pure: no I/O, no clock.

HubSpot v3 signs ``METHOD + URI + body + timestamp`` with HMAC-SHA256 keyed by the app's client secret and sends
it base64-encoded in ``X-HubSpot-Signature-v3``, with the epoch-millisecond ``X-HubSpot-Request-Timestamp``.
The URI is the full URL as HubSpot called it, with a handful of percent-escapes decoded before signing. v2 is
``sha256_hex(secret + METHOD + URI + body)``: no timestamp, so only de-duplication stops a replay.

The Salesforce callout (docs/salesforce-signed-webhook.md) signs ``timestamp + "." + body`` the same way, so a
captured body cannot be replayed under a fresh timestamp.

Every check raises ``SignatureRejected`` with a short reason code (a metrics label); comparisons are constant
time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = [
    "FUTURE_SKEW_MS",
    "MAX_AGE_MS",
    "SignatureRejected",
    "hubspot_uri_as_signed",
    "hubspot_v2_signature",
    "hubspot_v3_signature",
    "request_uri",
    "signed_json_signature",
    "verify_hubspot_v2",
    "verify_hubspot_v3",
    "verify_signed_json",
]

MAX_AGE_MS = 300_000
"""A signed request older than five minutes is refused (HubSpot's documented limit)."""
FUTURE_SKEW_MS = 30_000
"""How far a timestamp may lie ahead of our clock (clock drift) before it is refused."""

_SIGNED_ESCAPES = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


class SignatureRejected(Exception):
    """The request is not provably from the CRM (answer 401). ``reason`` is a code, never request data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def request_uri(*, public_base_url: str | None, scheme: str, host: str, raw_path: str, query: str) -> str:
    """The URL the sender called: ``public_base_url`` (behind a proxy) or scheme and Host, then path and query.

    ``public_base_url`` is the prefix under which the sender reaches this server's root, e.g.
    ``https://crm-hooks.example.com`` or ``https://example.com/lawful`` when the proxy strips ``/lawful``.
    """
    base = public_base_url.rstrip("/") if public_base_url else f"{scheme}://{host}"
    return base + raw_path + (f"?{query}" if query else "")


def hubspot_uri_as_signed(uri: str) -> str:
    """The URI as HubSpot signs it: the escapes it decodes first (either hex case) decoded."""
    out = uri
    for escape, char in _SIGNED_ESCAPES.items():
        out = out.replace(escape, char).replace(escape.lower(), char)
    return out


def _hmac_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_v3_signature(secret: str, *, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The ``X-HubSpot-Signature-v3`` value HubSpot sends for this request."""
    signed = method.upper().encode() + hubspot_uri_as_signed(uri).encode() + body + timestamp.encode()
    return _hmac_b64(secret, signed)


def hubspot_v2_signature(secret: str, *, method: str, uri: str, body: bytes) -> str:
    """The v2 ``X-HubSpot-Signature`` value: SHA-256 hex of secret, method, URI and body."""
    return hashlib.sha256(secret.encode() + method.upper().encode() + uri.encode() + body).hexdigest()


def signed_json_signature(secret: str, *, body: bytes, timestamp: str) -> str:
    """The ``X-Lawful-Signature`` value of a Salesforce callout: base64 HMAC-SHA256 of ``timestamp.body``."""
    return _hmac_b64(secret, timestamp.encode() + b"." + body)


def _check_fresh(timestamp: str | None, now_ms: int, max_age_ms: int, skew_ms: int) -> None:
    if not timestamp:
        raise SignatureRejected("missing_timestamp")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        raise SignatureRejected("malformed_timestamp")
    age = now_ms - int(timestamp)
    if age > max_age_ms:
        raise SignatureRejected("stale_timestamp")
    if age < -skew_ms:
        raise SignatureRejected("future_timestamp")


def _check_equal(expected: str, given: str | None) -> None:
    if not given:
        raise SignatureRejected("missing_signature")
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise SignatureRejected("bad_signature")


def verify_hubspot_v3(
    secret: str,
    *,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now_ms: int,
    max_age_ms: int = MAX_AGE_MS,
    skew_ms: int = FUTURE_SKEW_MS,
) -> None:
    """Accept a v3 request signed with ``secret`` within the time window, else raise SignatureRejected."""
    if not signature:
        raise SignatureRejected("missing_signature")
    _check_fresh(timestamp, now_ms, max_age_ms, skew_ms)
    assert timestamp is not None
    _check_equal(
        hubspot_v3_signature(secret, method=method, uri=uri, body=body, timestamp=timestamp), signature
    )


def verify_hubspot_v2(secret: str, *, method: str, uri: str, body: bytes, signature: str | None) -> None:
    """Accept a v2 request signed with ``secret``, else raise SignatureRejected."""
    _check_equal(hubspot_v2_signature(secret, method=method, uri=uri, body=body), signature)


def verify_signed_json(
    secret: str,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now_ms: int,
    max_age_ms: int = MAX_AGE_MS,
    skew_ms: int = FUTURE_SKEW_MS,
) -> None:
    """Accept a Salesforce callout signed with ``secret`` within the time window, else raise SignatureRejected."""
    if not signature:
        raise SignatureRejected("missing_signature")
    _check_fresh(timestamp, now_ms, max_age_ms, skew_ms)
    assert timestamp is not None
    _check_equal(signed_json_signature(secret, body=body, timestamp=timestamp), signature)
