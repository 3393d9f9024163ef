"""The whole sync on the HubSpot sandbox, under 429 storms, 5xx answers and dropped connections: every record
ends with the flags the policy decides, a second run reads nothing, and edits are picked up incrementally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig
from connector.store import Store, open_store
from connector.sync.pipeline import Pipeline
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.edits import hubspot_user_edits
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from tests.conftest import NOW

MAPPING = load_mapping("hubspot")
COMPILED = CompiledMapping(MAPPING)
POLICY = PolicySettings()
SEARCH_LAG = 2.0


pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture
def sandbox() -> Iterator[HubSpotSandbox]:
    """An 800-contact portal whose search sees each write up to SEARCH_LAG seconds late, as HubSpot's does."""
    with running_hubspot(
        contacts=800, seed=13, per_ten_seconds=None, search_per_second=None, search_lag_s=SEARCH_LAG
    ) as running:
        yield running


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def adapter(sandbox: HubSpotSandbox) -> HubSpotCrm:
    config = HubSpotConfig(
        base_url=sandbox.base_url, access_token=SecretStr(sandbox.token), per_ten_seconds=1000
    )
    return HubSpotCrm.from_config(config, MAPPING)


def sync(sandbox: HubSpotSandbox, store: Store, **options: Any) -> SyncResult:
    return run_sync(adapter(sandbox), COMPILED, POLICY, store, SyncOptions(**options), today=NOW)


def assert_every_record_holds_its_decision(sandbox: HubSpotSandbox, store: Store) -> None:
    sandbox.state.clock.advance(seconds=SEARCH_LAG)  # search has indexed the write-back
    crm = adapter(sandbox)
    records = [r for page in crm.pull("contacts", since=None) for r in page.records]
    decided = Pipeline(crm, COMPILED, POLICY, store).decide(records, today=NOW, now=datetime.now(UTC))
    assert len(decided) == 800
    pending = [d.record.id for d in decided if d.plan.update is not None]
    assert pending == []


def test_under_429_storms_5xx_and_drops_every_record_ends_correct(
    sandbox: HubSpotSandbox, store: Store
) -> None:
    adapter(sandbox).install(dry_run=False, uninstall=False)
    sandbox.state.faults.configure(
        storm_rate=0.03, storm_length=3, storm_status=429, error_rate=0.2, error_status=503, drop_rate=0.05
    )
    first = sync(sandbox, store)
    sandbox.state.faults.configure(storm_rate=0.0, storm_remaining=0, error_rate=0.0, drop_rate=0.0)
    refused = [r for r in list(sandbox.state.requests) if r.status == 429 or r.status >= 500 or r.status == 0]
    assert len(refused) >= 2, "faults really happened (the fault sequence is seeded)"
    assert first.outcome is Outcome.COMPLETED, first.message
    assert first.tally.written == 800 and first.tally.failed == 0
    assert_every_record_holds_its_decision(sandbox, store)
    assert sync(sandbox, store).tally.read == 0, "our own write-back is not read back as a change"


def test_edits_in_the_hubspot_ui_are_read_and_only_changed_decisions_written(
    sandbox: HubSpotSandbox, store: Store
) -> None:
    adapter(sandbox).install(dry_run=False, uninstall=False)
    sync(sandbox, store)
    edited = hubspot_user_edits(sandbox.state, 40, seed=3, today=NOW)
    sandbox.state.clock.advance(seconds=SEARCH_LAG)  # search has indexed the edits
    changes: list[str] = []
    result = run_sync(
        adapter(sandbox), COMPILED, POLICY, store, SyncOptions(), today=NOW,
        on_change=lambda item, status: changes.append(item.record.id),
    )  # fmt: skip
    assert result.tally.read == len(set(edited))
    assert set(changes) <= set(edited) and result.tally.written == len(set(changes))
    assert_every_record_holds_its_decision(sandbox, store)
