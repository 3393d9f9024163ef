"""Consent where HubSpot keeps it, end to end on the sandbox: a contact whose only consent is a SUBSCRIBED
subscription status gets ``email_allowed``, a later UNSUBSCRIBED closes it again, and a status set while
``lawful-crm serve`` runs flips the flag through the subscription-change webhook within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig
from connector.store import Store, open_store
from connector.sync.run import SyncOptions, run_sync
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.hubspot.subscriptions import MARKETING, Status
from crm_sandbox.people import person
from tests.conftest import NOW
from tests.e2e.test_webhooks_sandbox import sandboxes, serve, wait_for

MAPPING = load_mapping("hubspot")
COMPILED = CompiledMapping(MAPPING)

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(hs: HubSpotSandbox, store: Store, *, full: bool = False) -> None:
    config = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=1000)
    crm = HubSpotCrm.from_config(config, MAPPING)
    run_sync(crm, COMPILED, PolicySettings(), store, SyncOptions(full=full), today=NOW)


def without_consent(hs: HubSpotSandbox, limit: int = 300) -> list[int]:
    """Contacts with a clean address in a pack country who never opted in, opted out or objected, and came
    to us from a first-party source: only a consent can open their marketing e-mail."""
    seed = hs.state.store.seed
    return [
        i
        for i in range(limit)
        if (p := person(seed, i)).email and not p.messy and p.country in ("NL", "DE", "BE", "FR")
        and p.entity_type == "consumer" and p.relation == "prospect" and p.email_consent is None
        and p.optout_email is None and p.objection is None
    ]  # fmt: skip


def email_allowed(hs: HubSpotSandbox, index: int) -> Any:
    record = hs.state.record(hs.state.store.contact_id(index))
    assert record is not None
    return record["properties"].get("email_allowed")


def set_status(hs: HubSpotSandbox, index: int, state: str, at: datetime, basis: str | None = None) -> None:
    email = str(hs.state.store.properties(index)["email"])
    status = Status(MARKETING, state, at, basis, "Signed up on the website." if basis else None, "Form")
    hs.state.subscriptions.set_status(email, status, source="CRM_UI")


def test_a_subscribed_status_is_the_only_consent_needed_and_a_later_unsubscribe_closes_it(
    store: Store,
) -> None:
    with running_hubspot(contacts=300, seed=3, per_ten_seconds=None, search_per_second=None) as hs:
        sync_hs = HubSpotCrm.from_config(
            HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token)), MAPPING
        )
        assert sync_hs.install(dry_run=False, uninstall=False)
        sync(hs, store, full=True)
        candidates = without_consent(hs)
        assert candidates and all(email_allowed(hs, i) == "false" for i in candidates)

        chosen, other = candidates[0], candidates[1]
        given = datetime.combine(NOW - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
        set_status(hs, chosen, "SUBSCRIBED", given, "CONSENT_WITH_NOTICE")
        set_status(hs, other, "SUBSCRIBED", given, "LEGITIMATE_INTEREST_PQL")  # no consent: stays closed
        sync(hs, store)
        assert email_allowed(hs, chosen) == "true"
        assert email_allowed(hs, other) == "false"

        set_status(hs, chosen, "UNSUBSCRIBED", given + timedelta(days=10))
        sync(hs, store)
        assert email_allowed(hs, chosen) == "false"


def test_a_subscription_change_flips_the_flag_through_serve_within_seconds(tmp_path: Path) -> None:
    with sandboxes(tmp_path) as world, serve(world):
        hs = world.hubspot
        chosen = without_consent(hs)[0]
        contact_id = hs.state.store.contact_id(chosen)
        now = hs.state.clock.now()
        set_status(hs, chosen, "SUBSCRIBED", now - timedelta(days=1), "CONSENT_WITH_NOTICE")
        opened = wait_for(lambda: email_allowed(hs, chosen) == "true")
        set_status(hs, chosen, "UNSUBSCRIBED", now)
        closed = wait_for(lambda: email_allowed(hs, chosen) == "false")
        print(f"\nsubscription change to flag (s): opened {opened:.3f}, closed {closed:.3f} ({contact_id})")
        assert max(opened, closed) < 5.0
        assert hs.state.webhooks is not None and hs.state.webhooks.wait_idle(10.0)
        metrics = httpx.get(f"{world.base}/metrics").text
        assert 'reason="unsupported_type"' not in metrics, (
            "the subscription-change events were queued, not ignored"
        )
