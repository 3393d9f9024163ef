"""HubSpot webhook signatures, v3 (and v1), exactly as HubSpot computes them. Pure: no I/O, no clock.

v3: ``base64(HMAC-SHA256(key=client_secret, METHOD + URI + body + timestamp))``, UTF-8, with these escapes in
the URI decoded first: ``%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B``. Receivers reject v3 requests
whose ``X-HubSpot-Request-Timestamp`` (epoch milliseconds) is more than five minutes old, and compare in
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_AGE_MS = 300_000
_DECODED = {
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


def normalise_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded (either case of hex digits)."""
    out = uri
    for escape, char in _DECODED.items():
        out = out.replace(escape, char).replace(escape.lower(), char)
    return out


def sign_v3(client_secret: str, method: str, uri: str, body: bytes | str, timestamp_ms: int | str) -> str:
    """The ``X-HubSpot-Signature-v3`` header value."""
    raw = body.encode() if isinstance(body, str) else body
    source = method.upper().encode() + normalise_uri(uri).encode() + raw + str(timestamp_ms).encode()
    digest = hmac.new(client_secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    client_secret: str,
    method: str,
    uri: str,
    body: bytes | str,
    timestamp_ms: str,
    signature: str,
    *,
    now_ms: int,
) -> bool:
    """Whether a v3 signature is valid and its timestamp is at most five minutes old at ``now_ms``."""
    try:
        stamp = int(timestamp_ms)
    except ValueError:
        return False
    if now_ms - stamp > MAX_AGE_MS:
        return False
    expected = sign_v3(client_secret, method, uri, body, timestamp_ms)
    return hmac.compare_digest(expected.encode(), signature.encode())


def sign_v1(client_secret: str, body: bytes | str) -> str:
    """The v1 ``X-HubSpot-Signature`` header value: SHA-256 hex of secret + body."""
    raw = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(client_secret.encode() + raw).hexdigest()
