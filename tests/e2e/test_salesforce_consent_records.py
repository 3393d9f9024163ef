"""Consent where Salesforce keeps it, end to end on the sandbox: a contact whose only consent is a
ContactPointTypeConsent OptIn gets ``email_allowed``; an OptOut row, an ended ``EffectiveTo`` or conflicting rows
of one purpose (the least permissive wins) keep it closed; and a consent row created while ``lawful-crm serve``
runs flips the flag through the Outbound Message on ContactPointTypeConsent within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.sync.run import SyncOptions, run_sync
from crm_sandbox.people import person
from crm_sandbox.salesforce.consent_seed import EMAIL_MARKETING, SERVICE_UPDATES, TELEMARKETING
from crm_sandbox.salesforce.ids import make_id, parse_id
from crm_sandbox.salesforce.seed import SALES_USER_ID, has_individual
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.e2e.test_webhooks_sandbox import sandboxes, serve, wait_for

MAPPING = load_mapping("salesforce")
COMPILED = CompiledMapping(MAPPING)

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(sf: SalesforceSandbox, store: Store, options: SyncOptions | None = None) -> None:
    """A run as of the org's own day (the rows are dated by the sandbox's clock); full unless ``options``."""
    config = SalesforceConfig(auth="session", instance_url=sf.base_url, session_id=SecretStr(sf.token))
    crm = SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)
    options = options or SyncOptions(full=True)
    today = options.as_of or sf.state.clock.now().date()
    run_sync(crm, COMPILED, PolicySettings(), store, options, today=today)


def without_consent(sf: SalesforceSandbox, limit: int = 300) -> list[int]:
    """Contacts with an Individual and a clean address in a pack country who never opted in, opted out or
    objected, and are consumers we prospect: only a consent can open their marketing e-mail."""
    seed = sf.state.store.seed
    return [
        i
        for i in range(limit)
        if (p := person(seed, i)).email and not p.messy and p.country in ("NL", "DE", "BE", "FR")
        and p.entity_type == "consumer" and p.relation == "prospect" and p.email_consent is None
        and p.optout_email is None and p.objection is None and has_individual(p)
        and p.source not in _UNKNOWN_PROVENANCE
    ]  # fmt: skip


_UNKNOWN_PROVENANCE = ("unknown", "public_website", "personal_acquaintance")
"""Seeded sources with no LeadSource or `Other` (unknown provenance), which no consent row overrides."""


def email_allowed(sf: SalesforceSandbox, index: int) -> Any:
    record = sf.state.record("Contact", make_id("003", index))
    assert record is not None
    return record.get("Email_Allowed__c")


def consent_row(
    sf: SalesforceSandbox, index: int, status: str, captured: datetime, *,
    purpose: str = EMAIL_MARKETING, channel: str = "Email", until: datetime | None = None,
) -> str:  # fmt: skip
    """A salesperson records a consent row for the contact's Individual (index i of a seeded contact)."""
    values = {
        "Name": f"{channel} {status}", "PartyId": make_id("0PK", index), "ContactPointType": channel,
        "PrivacyConsentStatus": status, "DataUsePurposeId": purpose, "CaptureDate": captured,
        "EffectiveFrom": captured, "EffectiveTo": until, "CaptureSource": "Preference centre",
        "CaptureContactPointType": "Web",
    }  # fmt: skip
    return sf.state.store.create("ContactPointTypeConsent", values, by=SALES_USER_ID)


def test_an_opt_in_row_alone_opens_e_mail_and_opt_outs_ended_and_conflicting_rows_keep_it_closed(
    store: Store,
) -> None:
    with running_salesforce(contacts=800, seed=3, connector_fields=True) as sf:
        opt_in, both, ended, opt_out, service, untouched, phone_out = without_consent(sf, 800)[:7]
        now = sf.state.clock.now()
        month_ago, week_ago = now - timedelta(days=30), now - timedelta(days=7)
        consent_row(sf, opt_in, "OptIn", month_ago)
        consent_row(sf, both, "OptOut", month_ago)  # conflicting rows of one purpose: the OptOut wins,
        consent_row(sf, both, "OptIn", week_ago)  # though the OptIn is the later one
        consent_row(sf, ended, "OptIn", month_ago, until=now - timedelta(days=1))
        consent_row(sf, opt_out, "OptIn", month_ago, purpose=TELEMARKETING, channel="Phone")
        consent_row(sf, opt_out, "OptOut", week_ago)
        consent_row(sf, service, "OptIn", month_ago, purpose=SERVICE_UPDATES)  # not marketing
        consent_row(sf, phone_out, "OptIn", month_ago)
        consent_row(sf, phone_out, "OptOut", week_ago, purpose=TELEMARKETING, channel="Phone")
        sync(sf, store)
        assert email_allowed(sf, opt_in) is True
        assert email_allowed(sf, phone_out) is True, "an OptOut on the phone leaves e-mail open"
        for closed in (both, ended, opt_out, service, untouched):
            assert email_allowed(sf, closed) is not True, closed
            [*_, latest] = store.audit.history("salesforce", make_id("003", closed))
            assert latest.decision["email_allowed"] is False, closed
        [*_, latest] = store.audit.history("salesforce", make_id("003", both))
        assert latest.facts["optout_email"] == week_ago.date().isoformat()
        [*_, latest] = store.audit.history("salesforce", make_id("003", ended))
        assert latest.facts["consents"][0]["ends"] == (now - timedelta(days=1)).date().isoformat()

        consent_row(sf, opt_in, "OptOut", now)  # an OptOut recorded since closes it on the next full run
        sync(sf, store)
        assert email_allowed(sf, opt_in) is False


def test_an_opt_in_given_until_a_day_closes_on_that_day_without_an_edit(store: Store) -> None:
    """An OptIn whose ``EffectiveTo`` is ahead opens e-mail now; the decision expires on that day, and the
    ordinary run of that day closes the flag from the store, with no edit in the CRM and no full pull."""
    with running_salesforce(contacts=400, seed=5, connector_fields=True) as sf:
        chosen = without_consent(sf, 400)[0]
        now = sf.state.clock.now()
        ends = now + timedelta(days=10)
        consent_row(sf, chosen, "OptIn", now - timedelta(days=30), until=ends)
        sync(sf, store)
        assert email_allowed(sf, chosen) is True
        [*_, latest] = store.audit.history("salesforce", make_id("003", chosen))
        assert latest.decision["valid_until"] == ends.date().isoformat()

        sync(sf, store, SyncOptions(as_of=(ends - timedelta(days=1)).date()))
        assert email_allowed(sf, chosen) is True, "the day before its end the consent still holds"
        sync(sf, store, SyncOptions(as_of=ends.date()))
        assert email_allowed(sf, chosen) is False
        [*_, latest] = store.audit.history("salesforce", make_id("003", chosen))
        assert latest.decision["email_allowed"] is False
        assert (
            latest.decision["valid_until"] is None or latest.decision["valid_until"] > ends.date().isoformat()
        )


def test_an_ordinary_sync_sees_consent_rows_changed_since_the_last_run(store: Store) -> None:
    """A consent row moves no Contact: the incremental run still decides again the contacts of the Individuals
    whose rows were created or deleted since its cursor, and no other."""
    with running_salesforce(contacts=400, seed=7, connector_fields=True) as sf:
        given, taken_back, untouched = without_consent(sf, 400)[:3]
        now = sf.state.clock.now()
        row_id = consent_row(sf, taken_back, "OptIn", now - timedelta(days=30))
        sync(sf, store)
        assert email_allowed(sf, taken_back) is True
        assert email_allowed(sf, given) is not True
        runs_before = len(store.audit.history("salesforce", make_id("003", untouched)))

        sf.state.clock.advance(seconds=400)  # past the incremental pull's overlap
        consent_row(sf, given, "OptIn", sf.state.clock.now() - timedelta(days=1))
        parsed = parse_id(row_id)
        assert parsed is not None
        sf.state.store.delete("ContactPointTypeConsent", parsed[1])
        sync(sf, store, SyncOptions())
        assert email_allowed(sf, given) is True, "a new OptIn row opens e-mail on the next ordinary run"
        assert email_allowed(sf, taken_back) is False, "a deleted OptIn row closes it"
        assert len(store.audit.history("salesforce", make_id("003", untouched))) == runs_before


def test_a_consent_row_flips_the_flag_through_serve_within_seconds(tmp_path: Path) -> None:
    with sandboxes(tmp_path) as world, serve(world):
        sf = world.salesforce
        chosen = without_consent(sf)[0]
        now = sf.state.clock.now().astimezone(UTC)
        consent_row(sf, chosen, "OptIn", now - timedelta(days=1))
        opened = wait_for(lambda: email_allowed(sf, chosen) is True)
        consent_row(sf, chosen, "OptOut", now)
        closed = wait_for(lambda: email_allowed(sf, chosen) is False)
        print(f"\nconsent row to flag (s): opened {opened:.3f}, closed {closed:.3f}")
        assert max(opened, closed) < 5.0
