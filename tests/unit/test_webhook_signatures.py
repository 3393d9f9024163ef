"""Webhook signatures: HubSpot v3 (HubSpot's own test vector), v2, and the signed Salesforce callout."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import connector.webhooks
from connector.webhooks.signatures import (
    MAX_AGE_MS,
    SignatureRejected,
    hubspot_uri_as_signed,
    hubspot_v2_signature,
    hubspot_v3_signature,
    request_uri,
    signed_json_signature,
    verify_hubspot_v2,
    verify_hubspot_v3,
    verify_signed_json,
)

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URI = "https://www.example.com/webhook_uri"
BODY = b"{'example_field':'example_value'}"
NOW_MS = 1_790_000_000_000
STAMP = str(NOW_MS - 1_000)


def signed(body: bytes = BODY, stamp: str = STAMP, uri: str = URI, secret: str = SECRET) -> str:
    return hubspot_v3_signature(secret, method="POST", uri=uri, body=body, timestamp=stamp)


def verify(signature: str | None, *, body: bytes = BODY, stamp: str | None = STAMP, uri: str = URI) -> None:
    verify_hubspot_v3(
        SECRET, method="POST", uri=uri, body=body, timestamp=stamp, signature=signature, now_ms=NOW_MS
    )


def reason(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(SignatureRejected) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason


def test_v3_matches_hubspots_published_test_vector() -> None:
    """The documented example request signs to the documented value."""
    got = hubspot_v3_signature(SECRET, method="POST", uri=URI, body=BODY, timestamp="15000000")
    assert got == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_a_valid_fresh_v3_request_is_accepted() -> None:
    verify(signed())


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        (
            "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
            "bad_signature",
        ),  # a real signature, another request
        ("not base64 at all \u00e9", "bad_signature"),
    ],
)
def test_forged_or_missing_v3_signatures_are_refused(signature: str | None, expected: str) -> None:
    assert reason(verify, signature) == expected


def test_a_signature_made_with_another_secret_is_refused() -> None:
    assert reason(verify, signed(secret="another-apps-secret")) == "bad_signature"


def test_a_replayed_body_with_one_byte_changed_is_refused() -> None:
    """Same headers, body altered by one byte: the signature no longer matches."""
    tampered = BODY.replace(b"example_value", b"example_valuf")
    assert reason(verify, signed(), body=tampered) == "bad_signature"


def test_a_signature_moved_to_another_timestamp_is_refused() -> None:
    assert reason(verify, signed(stamp=STAMP), stamp=str(NOW_MS)) == "bad_signature"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (str(NOW_MS - MAX_AGE_MS - 1), "stale_timestamp"),
        (str(NOW_MS + 120_000), "future_timestamp"),
        (None, "missing_timestamp"),
        ("12.5", "malformed_timestamp"),
        ("-1", "malformed_timestamp"),
        ("1" * 40, "malformed_timestamp"),
    ],
)
def test_stale_future_and_malformed_timestamps_are_refused(stamp: str | None, expected: str) -> None:
    """Even a correct signature over a stale or future timestamp is refused."""
    signature = signed(stamp=stamp) if stamp is not None else signed()
    assert reason(verify, signature, stamp=stamp) == expected


def test_small_clock_drift_into_the_future_is_tolerated() -> None:
    stamp = str(NOW_MS + 5_000)
    verify(signed(stamp=stamp), stamp=stamp)


def test_behind_a_proxy_the_public_url_is_what_hubspot_signed() -> None:
    """HubSpot signs the URL it called; the server sees http://internal:8080, so the public base URL counts."""
    public = request_uri(
        public_base_url="https://hooks.example.com/lawful/",
        scheme="http",
        host="10.0.0.5:8080",
        raw_path="/webhooks/hubspot",
        query="portal=1",
    )
    assert public == "https://hooks.example.com/lawful/webhooks/hubspot?portal=1"
    internal = request_uri(
        public_base_url=None, scheme="http", host="10.0.0.5:8080", raw_path="/webhooks/hubspot", query=""
    )
    signature = signed(uri=public)
    verify(signature, uri=public)
    assert reason(verify, signature, uri=internal) == "bad_signature"


def test_the_escapes_hubspot_decodes_before_signing_are_decoded() -> None:
    assert hubspot_uri_as_signed("https://x.test/a%3Ab%2fc?d=%40e%2C") == "https://x.test/a:b/c?d=@e,"
    called = "https://x.test/hook?email=a%40b.example"
    verify(signed(uri="https://x.test/hook?email=a@b.example"), uri=called)


def test_v2_signs_secret_method_uri_and_body() -> None:
    signature = hubspot_v2_signature(SECRET, method="POST", uri=URI, body=BODY)
    verify_hubspot_v2(SECRET, method="POST", uri=URI, body=BODY, signature=signature)
    assert reason(
        verify_hubspot_v2, SECRET, method="POST", uri=URI, body=BODY + b" ", signature=signature
    ) == ("bad_signature")


def test_the_signed_salesforce_callout_binds_timestamp_and_body() -> None:
    key = "0123456789abcdef-signing"
    body = b'{"events":[]}'
    signature = signed_json_signature(key, body=body, timestamp=STAMP)
    verify_signed_json(key, body=body, timestamp=STAMP, signature=signature, now_ms=NOW_MS)
    cases = {
        "bad_signature": dict(body=body + b" ", timestamp=STAMP, signature=signature),
        "stale_timestamp": dict(body=body, timestamp=str(NOW_MS - MAX_AGE_MS - 1), signature=signature),
        "missing_signature": dict(body=body, timestamp=STAMP, signature=None),
    }
    for expected, kwargs in cases.items():
        assert reason(verify_signed_json, key, now_ms=NOW_MS, **kwargs) == expected
    refreshed = str(NOW_MS)  # a captured body replayed under a fresh timestamp
    assert reason(
        verify_signed_json, key, body=body, timestamp=refreshed, signature=signature, now_ms=NOW_MS
    ) == ("bad_signature")


def test_signature_and_outbound_parsing_do_no_io() -> None:
    """signatures.py, outbound.py and events.py import no network, file, clock-reading or logging module."""
    # consent_records: the consent object's names only; the module is pure (it imports connector.models alone)
    allowed_prefixes = (
        "connector.webhooks.",
        "connector.store.queue",
        "connector.mapping.consent_records",
        "defusedxml",
    )
    forbidden = {"socket", "os", "logging", "time", "urllib", "http", "requests", "httpx", "subprocess"}
    package = Path(connector.webhooks.__file__).parent
    for name in ("signatures.py", "outbound.py", "events.py"):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                top = module.split(".")[0]
                assert top not in forbidden, f"{name} imports {module}"
                assert top in sys.stdlib_module_names or module.startswith(allowed_prefixes), (
                    f"{name}: {module}"
                )
