"""HubSpotCrm through the real hubspot-api-client over real HTTP against the HubSpot sandbox."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import GROUP, OTHER_VALUES, HubSpotCrm
from connector.crm.hubspot.install import REVIEW_LIST
from connector.crm.hubspot.limiter import Clock
from connector.crm.port import Cursor, FieldUpdate, WriteInterrupted
from connector.crm.retry import RetryPolicy
from connector.errors import AuthenticationError, ConnectorError, QuotaExhaustedError, ServiceUnavailableError
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import OWN_FIELDS
from connector.settings import HubSpotConfig
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.people import DATA_START
from tests.helpers import SleeplessTime

MAPPING = load_mapping("hubspot").model_copy(update={"subscriptions": {}})
"""The default mapping without subscription types: these tests count contact and company calls; the status
reads a page adds are tested in test_hubspot_subscriptions.py."""
UNLIMITED: dict[str, Any] = {"per_ten_seconds": None, "search_per_second": None}
LIST = "GET /crm/v3/objects/contacts"
COMPANIES = "POST /crm/v3/objects/companies/batch/read"
SEARCH = "POST /crm/v3/objects/contacts/search"
UPDATE = "POST /crm/v3/objects/contacts/batch/update"
TOKEN = "POST /oauth/v1/token"
EVER = Cursor("contacts", modified=DATA_START - timedelta(days=1), last_id="")


pytestmark = pytest.mark.usefixtures("no_retry_waits")


@contextmanager
def portal(contacts: int = 200, **options: Any) -> Iterator[HubSpotSandbox]:
    """A seeded sandbox portal, without rate limits unless given."""
    with running_hubspot(contacts=contacts, seed=11, **{**UNLIMITED, **options}) as hs:
        yield hs


def adapter(
    hs: HubSpotSandbox, *, retry: RetryPolicy | None = None, clock: Clock | None = None, **overrides: Any
) -> HubSpotCrm:
    """HubSpotCrm on the sandbox with a private-app token and generous limits unless overridden."""
    values: dict[str, Any] = {
        "base_url": hs.base_url,
        "access_token": SecretStr(hs.token),
        "per_ten_seconds": 10_000,
        "search_per_second": 1_000,
        **overrides,
    }
    extra = {"clock": clock} if clock is not None else {}
    return HubSpotCrm.from_config(HubSpotConfig(**values), MAPPING, retry=retry, **extra)


def settled(hs: HubSpotSandbox) -> HubSpotSandbox:
    """The portal once its request log has caught up: it logs a request just after answering it."""
    total = -1
    while total != (total := sum(hs.state.calls.values())):
        time.sleep(0.01)
    return hs


def calls(hs: HubSpotSandbox, endpoint: str) -> int:
    return settled(hs).state.calls[endpoint]


def company_of(hs: HubSpotSandbox, contact_id: str) -> str | None:
    record = hs.state.record(contact_id)
    return None if record is None else record["properties"].get("associatedcompanyid")


def statuses(hs: HubSpotSandbox) -> list[int]:
    return [r.status for r in settled(hs).state.requests]


# install ---------------------------------------------------------------------------------------------------
def test_install_on_a_fresh_portal_creates_the_group_and_the_properties() -> None:
    """Install creates lawful_crm and the six write-back properties with the types the writes need."""
    with portal() as hs:
        report = adapter(hs).install(dry_run=False, uninstall=False)
        defs = hs.state.registry.defs["contacts"]
        assert report.created == (
            f"group:{GROUP}",
            "property:do_not_cold_call",
            "property:email_allowed",
            "property:lawful_use",
            "property:lawful_use_reason",
            "property:lawful_use_review",
            "property:lawful_use_checked",
            f"list:{REVIEW_LIST}",
        )
        assert report.problems == () and GROUP in hs.state.registry.groups["contacts"]
        assert (defs["do_not_cold_call"].type, defs["do_not_cold_call"].field_type) == (
            "bool",
            "booleancheckbox",
        )
        assert defs["lawful_use"].type == "enumeration" and len(defs["lawful_use"].options) == 12
        assert defs["lawful_use_checked"].type == "datetime" and defs["lawful_use_reason"].type == "string"
        assert all(
            defs[n].description and defs[n].group_name == GROUP
            for n in ("email_allowed", "lawful_use_review")
        )


def test_install_creates_the_review_queue_as_a_list_filtered_on_the_review_property() -> None:
    """A dynamic contact list of the contacts under review: created once, found by name the next time, and a
    dry run only names it."""
    with portal() as hs:
        crm = adapter(hs)
        assert f"list:{REVIEW_LIST}" in crm.install(dry_run=True, uninstall=False).created
        assert hs.state.lists.by_name(REVIEW_LIST) is None
        crm.install(dry_run=False, uninstall=False)
        made = hs.state.lists.by_name(REVIEW_LIST)
        assert made is not None and made["processingType"] == "DYNAMIC" and made["objectTypeId"] == "0-1"
        (branch,) = made["filterBranch"]["filterBranches"]
        assert [(f["property"], f["operation"]["value"]) for f in branch["filters"]] == [
            ("lawful_use_review", True)
        ]
        assert f"list:{REVIEW_LIST}" in crm.install(dry_run=False, uninstall=False).unchanged
        assert calls(hs, "POST /crm/v3/lists/") == 1  # the path the SDK sends


def test_a_second_install_reports_everything_unchanged() -> None:
    """Install is idempotent: the second run creates nothing and lists every item as unchanged."""
    with portal() as hs:
        crm = adapter(hs)
        first = crm.install(dry_run=False, uninstall=False)
        creates = calls(hs, "POST /crm/v3/properties/{object_type}")
        second = crm.install(dry_run=False, uninstall=False)
        assert second.created == () and second.unchanged == first.created and second.problems == ()
        assert calls(hs, "POST /crm/v3/properties/{object_type}") == creates


def test_uninstall_archives_the_properties_and_the_group() -> None:
    """Uninstall archives the own properties and removes the group; a second uninstall removes nothing."""
    with portal() as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        report = crm.install(dry_run=False, uninstall=True)
        assert len(report.removed) == len(OWN_FIELDS) + 2 and report.removed[-1] == f"group:{GROUP}"
        assert report.removed[0] == f"list:{REVIEW_LIST}" and hs.state.lists.by_name(REVIEW_LIST) is None
        assert "lawful_use" in hs.state.registry.archived["contacts"]
        assert "lawful_use" not in hs.state.registry.defs["contacts"]
        assert GROUP not in hs.state.registry.groups["contacts"]
        again = crm.install(dry_run=False, uninstall=True)
        assert again.removed == () and len(again.unchanged) == len(OWN_FIELDS) + 2
        reinstall = crm.install(dry_run=False, uninstall=False)
        *archived, review_list = reinstall.problems
        assert len(archived) == len(OWN_FIELDS) and all("archived" in p for p in archived)
        assert review_list.startswith(f"list:{REVIEW_LIST} needs the property lawful_use_review")


def test_a_dry_run_writes_nothing() -> None:
    """A dry install lists what it would create and sends no write request."""
    with portal() as hs:
        before = {name for name in hs.state.registry.defs["contacts"]}
        report = adapter(hs).install(dry_run=True, uninstall=False)
        assert len(report.created) == len(OWN_FIELDS) + 2, "the group, each own property and the review list"
        assert report.created[-1] == f"list:{REVIEW_LIST}"
        assert set(hs.state.registry.defs["contacts"]) == before
        assert GROUP not in hs.state.registry.groups["contacts"]
        assert not any(key.startswith(("POST", "DELETE", "PATCH")) for key in hs.state.calls)


# pull ------------------------------------------------------------------------------------------------------
def test_a_full_pull_of_5000_contacts_reads_their_companies_in_full_batches() -> None:
    """5,000 contacts with companies cost contacts/200 searches plus companies/100 batch reads (+ a few)."""
    with portal(contacts=5000) as hs:
        crm = adapter(hs)
        pages = list(crm.pull("contacts", since=None))
        records = [r for page in pages for r in page.records]
        assert len(records) == 5000 == len({r.id for r in records})
        companies = {r.fields["associatedcompanyid"] for r in records} - {None}
        with_company = [r for r in records if r.fields["associatedcompanyid"]]
        assert with_company and all(
            r.fields["company.type"] and r.fields["company.name"] for r in with_company
        )
        assert all(r.fields["company.type"] is None for r in records if not r.fields["associatedcompanyid"])
        assert calls(hs, SEARCH) == 25 and calls(hs, LIST) == 0
        assert calls(hs, COMPANIES) <= math.ceil(len(companies) / 100) + 3
        assert crm.usage().calls == calls(hs, SEARCH) + calls(hs, COMPANIES)
        assert all(page.cursor is None for page in pages[:-1]) and pages[-1].cursor is not None
        assert all(r.modified.tzinfo is UTC and r.created is not None for r in records[:50])


def test_an_incremental_pull_reads_12000_changed_contacts_despite_the_10000_search_cap() -> None:
    """Every one of 12,000 changed contacts is read once, oldest first, within the search rate, with no 400."""
    with portal(contacts=12_000, search_per_second=20) as hs:
        crm = adapter(hs, search_per_second=20)
        pages = list(crm.pull("contacts", since=EVER))
        records = [r for page in pages for r in page.records]
        assert len(records) == 12_000 == len({r.id for r in records})
        stamps = [r.modified for r in records]
        assert stamps == sorted(stamps)
        cursors = [page.cursor for page in pages]
        assert all(c is not None for c in cursors)
        assert [c.modified for c in cursors if c] == sorted(c.modified for c in cursors if c)
        assert 400 not in statuses(hs) and 429 not in statuses(hs)
        assert calls(hs, SEARCH) <= 12_000 / 199 + 2


def test_contacts_written_back_while_an_incremental_pull_runs_are_not_skipped() -> None:
    """Writing each page back (which moves it to the end of the search order) skips no unread contact."""
    with portal(contacts=1500) as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        seen: set[str] = set()
        for page in crm.pull("contacts", since=EVER):
            first_time = [r for r in page.records if r.id not in seen]  # a second reading changes nothing
            seen.update(r.id for r in first_time)
            crm.write([FieldUpdate("contacts", r.id, {"lawful_use_review": True}) for r in first_time[:150]])
        assert seen == {str(1001 + i) for i in range(1500)}


def test_deleted_contacts_come_back_as_deletions_after_the_cursor() -> None:
    """Contacts archived after the cursor are pulled as deleted records; earlier deletions are not."""
    with portal(contacts=300) as hs:
        crm = adapter(hs, overlap_s=0)
        hs.state.store.archive(hs.state.store.index_of("1005"))
        time.sleep(0.01)
        since = Cursor("contacts", modified=datetime.now(UTC), last_id="")
        time.sleep(0.01)
        for contact_id in ("1010", "1020"):
            hs.state.store.archive(hs.state.store.index_of(contact_id))
        pages = list(crm.pull("contacts", since=since))
        deleted = [r for page in pages for r in page.records if r.deleted]
        assert sorted(r.id for r in deleted) == ["1010", "1020"]
        assert all(r.modified > since.modified and r.fields == {} for r in deleted)
        assert pages[0].cursor == since


def test_read_returns_the_asked_contacts_with_companies_and_leaves_out_missing_ids() -> None:
    """A batch read of ids gives those contacts with their company fields, in order; unknown ids are left out."""
    with portal(contacts=300) as hs:
        records = adapter(hs).read("contacts", ["1003", "42", "1001", "1003"])
        assert [r.id for r in records] == ["1003", "1001"]
        assert "company.type" in records[0].fields and records[0].fields["hs_object_id"] == "1003"


def test_value_counts_cost_one_search_per_option_value_and_free_text_is_counted_from_the_list() -> None:
    """company.type: one search per option plus one, and one more that names the values outside the options;
    the free-text country is read from the contact list."""
    with portal(contacts=1000) as hs:
        crm = adapter(hs)
        options = crm.describe("contacts")["company.type"].values or ()
        before = calls(hs, "POST /crm/v3/objects/companies/search")
        counts = crm.value_counts("contacts", "company.type")
        companies = hs.state.store.companies()
        outside = Counter(str(c.type) for c in companies.values() if c.type not in options)
        assert outside and sum(outside.values()) <= 200, (
            "the seeded portal has a few values outside the options"
        )
        assert calls(hs, "POST /crm/v3/objects/companies/search") - before == len(options) + 2
        assert sum(counts.values()) == len(companies)
        assert {value: n for value, n in counts.items() if value not in options} == outside, (
            "named, not lumped"
        )
        assert OTHER_VALUES not in counts
        countries = crm.value_counts("contacts", "country")
        assert calls(hs, LIST) == 10 and "Netherlands" in countries
        with_country = sum(
            1 for i in range(1000) if (hs.state.record(str(1001 + i)) or {})["properties"]["country"]
        )
        assert sum(countries.values()) == with_country


# write -----------------------------------------------------------------------------------------------------
def test_1000_updates_take_10_batch_calls_and_store_hubspot_strings() -> None:
    """1,000 updates are 10 batch calls; booleans arrive as "true"/"false", times as ISO strings."""
    with portal(contacts=1200) as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        checked = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
        updates = [
            FieldUpdate("contacts", str(1001 + i), {"do_not_cold_call": i % 2 == 0, "email_allowed": False,
                                                    "lawful_use": "unknown", "lawful_use_checked": checked})
            for i in range(1000)
        ]  # fmt: skip
        outcomes = crm.write(updates)
        assert calls(hs, UPDATE) == 10
        assert [o.record_id for o in outcomes] == [u.record_id for u in updates] and all(
            o.ok for o in outcomes
        )
        stored = hs.state.record("1001")
        assert stored is not None
        assert stored["properties"]["do_not_cold_call"] == "true"
        assert stored["properties"]["email_allowed"] == "false"
        assert stored["properties"]["lawful_use_checked"] == "2026-11-28T02:00:00.000Z"


def test_a_207_with_failed_inputs_leaves_the_others_written() -> None:
    """Unknown ids come back gone, locked inputs are reported per record, every other update is written."""
    with portal(contacts=300) as hs:
        crm = adapter(hs, retry=RetryPolicy(attempts=1, lock_attempts=1))
        crm.install(dry_run=False, uninstall=False)
        ids = [str(1001 + i) for i in range(120)] + ["7", "8"]
        hs.state.faults.configure(record_error_rate=0.2)
        outcomes = crm.write([FieldUpdate("contacts", i, {"lawful_use_review": "true"}) for i in ids])
        hs.state.faults.configure(record_error_rate=0.0)
        by_id = {o.record_id: o for o in outcomes}
        assert by_id["7"].gone and by_id["8"].code == "OBJECT_NOT_FOUND" and not by_id["8"].ok
        locked = [o for o in outcomes if o.code == "LOCKED"]
        written = [o for o in outcomes if o.ok]
        assert locked and written and len(locked) + len(written) == 120
        for outcome in written:
            record = hs.state.record(outcome.record_id)
            assert record is not None and record["properties"]["lawful_use_review"] == "true"
        for outcome in locked:
            record = hs.state.record(outcome.record_id)
            assert record is not None and record["properties"].get("lawful_use_review") is None


def test_a_batch_cut_short_by_5xx_after_locked_inputs_reports_the_records_its_first_call_wrote() -> None:
    """The first call writes most of the batch and reports some inputs locked; every call after it fails with
    a 5xx until the retries run out. The write stops with WriteInterrupted carrying an outcome for exactly
    the records the first call wrote, so the sync can audit them."""
    with portal(contacts=300) as hs:
        crm = adapter(hs, retry=RetryPolicy(attempts=3))
        crm.install(dry_run=False, uninstall=False)
        hs.state.faults.configure(record_error_rate=0.3)
        request_error, sent = hs.state.faults.request_error, [0]

        def fail_after_the_first_update() -> int | None:
            sent[0] += 1
            return request_error() if sent[0] == 1 else 503

        hs.state.faults.request_error = fail_after_the_first_update  # type: ignore[method-assign]
        ids = [str(1001 + i) for i in range(100)]
        with pytest.raises(WriteInterrupted) as cut:
            crm.write([FieldUpdate("contacts", i, {"lawful_use_review": True}) for i in ids])
        written = {
            i for i in ids if (hs.state.record(i) or {})["properties"].get("lawful_use_review") == "true"
        }
        assert 0 < len(written) < 100, "the first call wrote some and left others locked"
        assert isinstance(cut.value.reason, ServiceUnavailableError)
        assert all(o.ok for o in cut.value.completed)
        assert {o.record_id for o in cut.value.completed} == written
        assert sent[0] == 1 + 3, "one call, then three refused tries"


def test_locked_inputs_are_sent_again_until_written() -> None:
    """With retries allowed, only the locked inputs are sent again and in the end all are written."""
    with portal(contacts=300) as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        hs.state.faults.configure(record_error_rate=0.3)
        outcomes = crm.write(
            [FieldUpdate("contacts", str(1001 + i), {"lawful_use_review": True}) for i in range(100)]
        )
        hs.state.faults.configure(record_error_rate=0.0)
        assert all(o.ok for o in outcomes) and calls(hs, UPDATE) > 1


def test_one_invalid_value_in_a_batch_fails_only_its_own_record() -> None:
    """HubSpot refuses a batch with one bad option as a whole; the adapter halves it until only that one fails."""
    with portal(contacts=300) as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        updates = [FieldUpdate("contacts", str(1001 + i), {"lawful_use": "unknown"}) for i in range(100)]
        updates[37] = FieldUpdate("contacts", "1038", {"lawful_use": "not-a-category"})
        outcomes = crm.write(updates)
        assert [o.record_id for o in outcomes if not o.ok] == ["1038"]
        assert outcomes[37].code == "VALIDATION_ERROR"
        assert calls(hs, UPDATE) == 2, "the bad option is recognised from describe; the other 99 go at once"


def test_a_refused_value_that_is_not_an_option_is_found_by_halving_the_batch() -> None:
    """A bad date cannot be told apart locally: the batch is halved until only its record fails."""
    with portal(contacts=300) as hs:
        crm = adapter(hs)
        crm.install(dry_run=False, uninstall=False)
        updates = [
            FieldUpdate("contacts", str(1001 + i), {"lawful_use_checked": "2026-11-28"}) for i in range(100)
        ]
        updates[61] = FieldUpdate("contacts", "1062", {"lawful_use_checked": "yesterday"})
        outcomes = crm.write(updates)
        assert [o.record_id for o in outcomes if not o.ok] == ["1062"]
        assert calls(hs, UPDATE) <= 2 * math.ceil(math.log2(100)) + 1


# limits, auth, errors --------------------------------------------------------------------------------------
def test_under_a_100_per_10s_limit_the_adapter_is_never_refused_and_runs_close_to_the_limit() -> None:
    """200 calls against a 100-per-10-s portal: no 429 at all, never over 100 in a window, and ~10 calls/s."""
    with portal(contacts=300, per_ten_seconds=100) as hs:
        crm = adapter(hs, per_ten_seconds=100)
        loner = next(str(1001 + i) for i in range(300) if not company_of(hs, str(1001 + i)))
        for _ in range(200):
            assert crm.read("contacts", [loner])  # one call each: the contact has no company
        stamps = sorted(r.at for r in settled(hs).state.requests)
        assert 429 not in statuses(hs) and len(stamps) == crm.usage().calls == 200
        busiest = max(sum(1 for t in stamps if s <= t < s + 10) for s in stamps)
        assert busiest <= 100
        sustained = 100 / (stamps[199] - stamps[99])  # after the first window: the limiter's pace
        assert 8.5 <= sustained <= 10.2, sustained


def test_a_ten_secondly_429_is_waited_out_and_retried() -> None:
    """A call refused because another app spent the budget waits in the limiter for the window, then succeeds."""
    with portal(contacts=50, per_ten_seconds=5) as hs:
        fake = SleeplessTime()
        hs.state.limits.clock = lambda: fake.now  # the portal's window rolls with the adapter's clock
        for _ in range(5):
            assert hs.state.limits.check(search=False) is None  # another app's calls
        records = adapter(hs, clock=fake.clock()).read("contacts", ["1001", "1002"])
        assert [r.id for r in records] == ["1001", "1002"]
        assert statuses(hs).count(429) == 1
        assert fake.slept >= 10.0, "the limiter held the retry until the window had rolled"


def test_a_search_refused_by_the_secondly_limit_waits_a_second_and_goes_on() -> None:
    """Search refused with policy SECONDLY: the search limiter holds it one second, then it succeeds."""
    with portal(contacts=100, search_per_second=2) as hs:
        fake = SleeplessTime()
        hs.state.limits.clock = lambda: fake.now
        for _ in range(2):
            assert hs.state.limits.check(search=True) is None  # another app's searches
        counts = adapter(hs, clock=fake.clock(), search_per_second=2).value_counts(
            "contacts", "hs_email_optout"
        )
        assert set(counts) <= {"true", "false"} and sum(counts.values()) == 100
        assert statuses(hs).count(429) == 1 and 1.0 <= fake.slept < 5.0


def test_an_expired_oauth_token_is_refreshed_and_the_run_completes() -> None:
    """With OAuth, a token that expires mid-pull is refreshed after the 401 and every contact is still read."""
    with portal(contacts=2000) as hs:
        crm = adapter(
            hs,
            access_token=None,
            client_id=hs.state.oauth.client_id,
            client_secret=SecretStr(hs.state.oauth.client_secret),
            refresh_token=SecretStr(hs.state.oauth.refresh_token),
        )
        seen = 0
        # Ten search pages of 200; the pull reads at most two pages ahead, so pages 4 and 7 onwards are
        # fetched after the tokens expire at pages 1 and 4.
        for number, page in enumerate(crm.pull("contacts", since=None)):
            seen += len(page.records)
            if number in (1, 4):
                hs.state.expire_tokens()
        assert seen == 2000
        assert calls(hs, TOKEN) == 3 == hs.state.oauth.issued_count
        assert statuses(hs).count(401) == 2


def test_a_refused_oauth_refresh_is_an_authentication_error() -> None:
    """A revoked refresh token stops the run with AuthenticationError naming HubSpot's reason only."""
    with portal(contacts=20) as hs:
        crm = adapter(
            hs,
            access_token=None,
            client_id=hs.state.oauth.client_id,
            client_secret=SecretStr(hs.state.oauth.client_secret),
            refresh_token=SecretStr("revoked"),
        )
        with pytest.raises(AuthenticationError, match="BAD_REFRESH_TOKEN"):
            crm.read("contacts", ["1001"])


def test_a_daily_429_stops_the_run_with_quota_exhausted() -> None:
    """When the daily limit is spent the pull raises QuotaExhaustedError at once (no retries)."""
    with portal(contacts=1000, daily=3) as hs:
        crm = adapter(hs)
        with pytest.raises(QuotaExhaustedError, match="DAILY"):
            for _ in crm.pull("contacts", since=None):
                pass
        assert statuses(hs).count(429) == 1
        assert crm.usage().remaining == 0 and crm.usage().limit == 3


def test_no_email_or_phone_reaches_an_exception_or_a_log_record_in_a_faulted_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under 5xx, 429 storms, dropped connections, locked inputs and a rejected write, no personal data is
    logged or put in an exception message."""
    caplog.set_level(logging.DEBUG)
    with portal(contacts=600) as hs:
        fake = SleeplessTime()
        crm = adapter(hs, clock=fake.clock(), retry=RetryPolicy(attempts=8))
        crm.install(dry_run=False, uninstall=False)
        personal = {
            value.lower()
            for i in range(600)
            for key in ("email", "phone", "mobilephone")
            if (value := (hs.state.record(str(1001 + i)) or {}).get("properties", {}).get(key))
        }
        hs.state.faults.configure(error_rate=0.1, storm_rate=0.05, storm_length=2, storm_status=429,
                                  drop_rate=0.05, record_error_rate=0.1)  # fmt: skip
        messages: list[str] = []
        try:
            records = [r for page in crm.pull("contacts", since=None) for r in page.records]
            crm.write([FieldUpdate("contacts", r.id, {"lawful_use": "bogus-value"}) for r in records[:20]])
            crm.pull("contacts", since=EVER).__next__()
        except ConnectorError as exc:
            messages.append(str(exc))
        hs.state.faults.configure(
            error_rate=0.0, storm_rate=0.0, storm_remaining=0, drop_rate=0.0, record_error_rate=0.0
        )
        with pytest.raises(ConnectorError) as refused:
            crm.write([FieldUpdate("contacts", "1001", {"hs_object_id": "5"})])
        messages.append(str(refused.value))
        texts = (
            messages + [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
        )
        assert caplog.records, "the run logged something to check"
        leaked = {value for value in personal for text in texts if value in text.lower()}
        assert not leaked
        assert not any("@" in text for text in texts)
