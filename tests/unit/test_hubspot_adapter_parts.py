"""The HubSpot adapter's pure parts: tokens, error translation, company batching, values, field names."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from connector.crm.hubspot.auth import OAuthTokens, StaticToken, TokenGrant
from connector.crm.hubspot.companies import CompanyDirectory, with_companies
from connector.crm.hubspot.limiter import Clock
from connector.crm.hubspot.records import (
    Fetched,
    company_properties_of,
    contact_properties_of,
    epoch_ms,
    parse_time,
    record_of,
)
from connector.crm.hubspot.translate import RequestRejected, answer_of, translate
from connector.crm.hubspot.write import chunks, hubspot_value
from connector.crm.port import FieldUpdate
from connector.errors import (
    AuthenticationError,
    ConfigurationError,
    QuotaExhaustedError,
    RateLimitedError,
    RecordLockedError,
    ServiceUnavailableError,
)

# tokens ----------------------------------------------------------------------------------------------------


class Clocked:
    def __init__(self) -> None:
        self.now = 0.0
        self.grants = 0

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, sleep=lambda s: None)

    def fetch(self, refresh_token: str) -> TokenGrant:
        self.grants += 1
        return TokenGrant(
            access_token=f"token-{self.grants}", expires_in=1800, refresh_token=f"rt-{self.grants}"
        )


def test_an_oauth_token_is_fetched_on_first_use_and_kept_until_a_minute_before_expiry() -> None:
    """No token: fetch one; 29 minutes later still the same; at 29:01 a new one."""
    t = Clocked()
    tokens = OAuthTokens(t.fetch, refresh_token="rt", clock=t.clock())
    assert tokens.current() == "token-1"
    t.now = 1739.0
    assert tokens.current() == "token-1"
    t.now = 1741.0
    assert tokens.current() == "token-2" and tokens.refreshes == 2


def test_a_refresh_after_a_401_replaces_the_token_and_keeps_the_rotated_refresh_token() -> None:
    """refresh() always gets a new token, sending the refresh token the endpoint gave last."""
    sent: list[str] = []
    t = Clocked()

    def fetch(refresh_token: str) -> TokenGrant:
        sent.append(refresh_token)
        return t.fetch(refresh_token)

    tokens = OAuthTokens(fetch, refresh_token="rt-0", access_token="given", clock=t.clock())
    assert tokens.current() == "given"
    assert tokens.refresh() and tokens.current() == "token-1"
    tokens.refresh()
    assert sent == ["rt-0", "rt-1"]


def test_a_private_app_token_is_never_refreshed() -> None:
    """A private app's token cannot be refreshed: the caller raises AuthenticationError on a 401."""
    token = StaticToken("pat")
    assert token.current() == "pat" and token.refresh() is False


# error translation -----------------------------------------------------------------------------------------


class VendorError(Exception):
    """Shaped like every hubspot sub-package's ApiException: status, reason, body (str), headers."""

    def __init__(
        self, status: int, body: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ):
        super().__init__(f"({status})\nHTTP response body: {json.dumps(body)}")
        self.status = status
        self.reason = "reason"
        self.body = json.dumps(body) if body is not None else None
        self.headers = dict(headers or {})


def rate_limited(policy: str) -> VendorError:
    return VendorError(429, {"status": "error", "message": "jan@example.com", "policyName": policy})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (VendorError(401, {"category": "EXPIRED_AUTHENTICATION"}), AuthenticationError),
        (VendorError(403, {"category": "MISSING_SCOPES"}), ConfigurationError),
        (VendorError(423, {"category": "LOCKED"}), RecordLockedError),
        (rate_limited("DAILY"), QuotaExhaustedError),
        (rate_limited("TEN_SECONDLY_ROLLING"), RateLimitedError),
        (rate_limited("SECONDLY"), RateLimitedError),
        (VendorError(502, None), ServiceUnavailableError),
        (VendorError(477, {}), ServiceUnavailableError),
        (VendorError(0, None), ServiceUnavailableError),
        (VendorError(400, {"category": "VALIDATION_ERROR"}), RequestRejected),
        (VendorError(409, {"category": "OBJECT_ALREADY_EXISTS"}), RequestRejected),
        (VendorError(404, {"category": "OBJECT_NOT_FOUND"}), RequestRejected),
    ],
)
def test_vendor_answers_are_translated_by_status_and_policy(error: VendorError, expected: type) -> None:
    """One row per status: the connector error says what the caller does."""
    answer = answer_of(error)
    assert answer is not None
    assert type(translate(answer, operation="contacts.list")) is expected


def test_translated_messages_carry_codes_never_the_body() -> None:
    """The body's message (personal data) is never copied; the category and policy are."""
    error = VendorError(
        400,
        {
            "message": "jan@example.com is invalid",
            "category": "VALIDATION_ERROR",
            "errors": [{"in": "email"}],
        },
    )
    answer = answer_of(error)
    assert answer is not None and answer.fields == ("email",)
    message = str(translate(answer, operation="contacts.batch_update"))
    assert "VALIDATION_ERROR" in message and "@" not in message and "jan" not in message


def test_a_429_carries_retry_after_and_the_rate_headers_when_sent() -> None:
    """Retry-After and X-HubSpot-RateLimit-* are read from the answer's headers."""
    headers = {"Retry-After": "2", "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"}
    answer = answer_of(VendorError(429, {"policyName": "TEN_SECONDLY_ROLLING"}, headers))
    assert answer is not None and answer.retry_after == 2.0
    assert answer.rate.limit == 100 and answer.rate.remaining == 0
    error = translate(answer, operation="contacts.list")
    assert isinstance(error, RateLimitedError) and error.retry_after == 2.0


def test_the_token_endpoint_reason_stands_in_for_the_category() -> None:
    """The OAuth endpoint answers {"status": "BAD_REFRESH_TOKEN"}: that is the code reported."""
    answer = answer_of(VendorError(400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid"}))
    assert answer is not None and answer.category == "BAD_REFRESH_TOKEN"


def test_an_exception_without_a_status_is_not_a_vendor_answer() -> None:
    """Programming errors are not translated into connector errors."""
    assert answer_of(TypeError("x")) is None


# companies -------------------------------------------------------------------------------------------------


class FakeCompanies:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, ids: Sequence[str]) -> dict[str, Mapping[str, str | None]]:
        assert len(ids) <= 100
        self.calls.append(list(ids))
        return {i: {"type": f"T{i}"} for i in ids if not i.startswith("gone")}


def pages_of(company_ids: list[str | None], size: int = 100) -> list[list[Fetched]]:
    contacts = [Fetched(str(n), {"hs_object_id": str(n)}, cid) for n, cid in enumerate(company_ids)]
    return [contacts[i : i + size] for i in range(0, len(contacts), size)]


def test_companies_are_read_in_full_batches_of_100_distinct_ids() -> None:
    """5,000 contacts at 3,000 companies cost at most 30 company reads plus a few partial ones; order is kept."""
    ids: list[str | None] = [None if n % 7 == 0 else f"c{n % 3000}" for n in range(5000)]
    fake = FakeCompanies()
    built = [
        row
        for page in with_companies(pages_of(ids), CompanyDirectory(fake), lambda c, co: (c.id, co))
        for row in page
    ]
    assert [contact_id for contact_id, _ in built] == [str(n) for n in range(5000)]
    assert all(co == ({"type": f"T{ids[int(cid)]}"} if ids[int(cid)] else None) for cid, co in built)
    distinct = len({i for i in ids if i})
    assert len(fake.calls) <= math.ceil(distinct / 100) + 3
    assert sum(len(c) for c in fake.calls) == distinct, "each company is read once"


def test_missing_companies_are_remembered_and_not_read_again() -> None:
    """A company that no longer exists comes back as no company and is asked for once."""
    fake = FakeCompanies()
    built = [
        row
        for page in with_companies(pages_of(["gone1"] * 250), CompanyDirectory(fake), lambda c, co: co)
        for row in page
    ]
    assert built == [None] * 250 and fake.calls == [["gone1"]]


def test_at_most_max_buffered_pages_wait_for_their_companies() -> None:
    """Memory stays flat: with few new companies per page, pages are released after max_buffered."""
    ids: list[str | None] = [f"c{n // 50}" for n in range(3000)]  # 2 new companies per page
    fake = FakeCompanies()
    released = 0
    for position, _page in enumerate(
        with_companies(pages_of(ids), CompanyDirectory(fake), lambda c, co: c, max_buffered=5)
    ):
        released += 1
        assert position < 30
    assert released == 30 and len(fake.calls) <= 30 // 5 + 1


# values, batches and field names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, "true"),
        (False, "false"),
        ("true", "true"),
        (None, ""),
        (
            datetime(2026, 11, 28, 3, 4, 5, 678_900, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-28T02:04:05.678Z",
        ),
        (date(2026, 1, 31), "2026-01-31"),
        (12, "12"),
        ("opt_in", "opt_in"),
    ],
)
def test_values_are_sent_as_the_strings_hubspot_stores(value: Any, stored: str) -> None:
    """Booleans are lower-case words, None clears, times are UTC with milliseconds, the rest is text."""
    assert hubspot_value(value) == stored


def test_batches_hold_at_most_100_updates_and_a_record_once() -> None:
    """250 updates are three batches; a second update of a record goes into a later batch, order kept."""
    updates = [FieldUpdate("contacts", str(i), {"x": 1}) for i in range(250)]
    updates.insert(10, FieldUpdate("contacts", "3", {"x": 2}))
    batches = chunks(updates)
    assert [len(b) for b in batches] == [10, 100, 100, 41]
    assert [pos for batch in batches for pos, _ in batch] == list(range(251))


def test_company_fields_are_dotted_and_requested_separately() -> None:
    """company.type and company.country go to the company read; the rest plus required ones to the contacts."""
    fields = ["email", "company.type", "company.country", "hs_legal_basis", "email"]
    assert company_properties_of(fields) == ("type", "country")
    props = contact_properties_of(fields)
    assert props[:4] == ("hs_object_id", "lastmodifieddate", "createdate", "associatedcompanyid")
    assert "company.type" not in props and props.count("email") == 1
    contact = Fetched(
        "7", {"lastmodifieddate": "2024-09-11T13:27:39.356Z", "createdate": "1579514400000"}, "9"
    )
    record = record_of(contact, {"type": "VENDOR"}, ("type", "country"))
    assert record.fields["company.type"] == "VENDOR" and record.fields["company.country"] is None
    assert record.modified == datetime(2024, 9, 11, 13, 27, 39, 356_000, tzinfo=UTC)
    assert record.created == datetime(2020, 1, 20, 10, 0, tzinfo=UTC)


def test_epoch_milliseconds_are_exact() -> None:
    """No float rounding: a parsed time turns back into the same millisecond."""
    moment = parse_time("2024-09-11T13:27:39.357Z")
    assert moment is not None and epoch_ms(moment) == 1726061259357
