"""Deletions the pull never shows still erase the audit: a Salesforce recycle bin emptied while lawful-crm was
stopped, a HubSpot contact archived and purged 90 days later, a GDPR delete and a merge. Reconciliation
compares the ids the store manages with the CRM's live ids once a day (and after every full pull) and forgets
what the CRM no longer has. HubSpot runs with search lag on: edits search has not indexed yet are read by a
later run through the incremental overlap. The sandboxes' clocks are moved forward."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig, SalesforceConfig
from connector.store import Store, open_store
from connector.sync.pipeline import Pipeline
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.clock import SandboxClock
from crm_sandbox.edits import hubspot_user_edits
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("no_retry_waits")

SF_MAPPING, HS_MAPPING = load_mapping("salesforce"), load_mapping("hubspot")
POLICY = PolicySettings()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def managed(store: Store, crm: str, record_id: str) -> bool:
    """Whether the store still keeps anything about the record."""
    return bool(store.audit.history(crm, record_id))


class TestSalesforce:
    @pytest.fixture
    def sandbox(self) -> Iterator[SalesforceSandbox]:
        with running_salesforce(contacts=300, leads=40, seed=21) as running:
            yield running

    def sync(self, sandbox: SalesforceSandbox, store: Store, clock: SandboxClock) -> SyncResult:
        config = SalesforceConfig(
            auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=500
        )
        crm = SalesforceCrm.from_config(config, SF_MAPPING, bulk_poll_s=0)
        crm.install(dry_run=False, uninstall=False)
        return run_sync(
            crm, CompiledMapping(SF_MAPPING), POLICY, store, SyncOptions(), clock=clock.now, today=NOW
        )

    def test_a_record_purged_from_the_recycle_bin_while_stopped_is_forgotten(
        self, sandbox: SalesforceSandbox, store: Store
    ) -> None:
        """Deleted, then 16 days without a run: queryAll no longer shows it, and the next run still erases it."""
        clock = sandbox.state.clock
        assert self.sync(sandbox, store, clock).outcome is Outcome.COMPLETED
        record_id, kept = (str(r["Id"]) for r in _first_contacts(sandbox, 2))
        assert managed(store, "salesforce", record_id)
        located = sandbox.state.store.locate(record_id)
        assert located is not None
        sandbox.state.store.delete("Contact", located[1])
        clock.advance(days=16)
        result = self.sync(sandbox, store, clock)
        assert result.outcome is Outcome.COMPLETED
        assert not managed(store, "salesforce", record_id) and managed(store, "salesforce", kept)
        assert result.tally.deleted >= 1


def _first_contacts(sandbox: SalesforceSandbox, count: int) -> list[dict[str, object]]:
    """The first live contacts of the org, read directly from its store."""
    store = sandbox.state.store
    found = (store.get("Contact", index) for index in store.indexes("Contact"))
    return [record for record in found if record is not None][:count]


class TestHubSpot:
    @pytest.fixture
    def sandbox(self) -> Iterator[HubSpotSandbox]:
        with running_hubspot(contacts=300, seed=17, per_ten_seconds=None, search_per_second=None,
                             search_lag_s=2.0) as running:  # fmt: skip
            yield running

    def crm(self, sandbox: HubSpotSandbox) -> HubSpotCrm:
        config = HubSpotConfig(
            base_url=sandbox.base_url, access_token=SecretStr(sandbox.token), per_ten_seconds=1000
        )
        return HubSpotCrm.from_config(config, HS_MAPPING)

    def sync(self, sandbox: HubSpotSandbox, store: Store) -> SyncResult:
        crm = self.crm(sandbox)
        crm.install(dry_run=False, uninstall=False)
        clock = sandbox.state.clock
        return run_sync(
            crm, CompiledMapping(HS_MAPPING), POLICY, store, SyncOptions(), clock=clock.now, today=NOW
        )

    def test_purged_gdpr_deleted_and_merged_contacts_are_forgotten(
        self, sandbox: HubSpotSandbox, store: Store
    ) -> None:
        """Archived and purged 90 days later, GDPR-deleted, merged away: none stays in the store; the merge
        winner and untouched contacts do."""
        assert self.sync(sandbox, store).outcome is Outcome.COMPLETED
        archived, erased, loser, winner, kept = "1011", "1012", "1013", "1014", "1015"
        assert all(managed(store, "hubspot", i) for i in (archived, erased, loser, winner, kept))
        store_ = sandbox.state.store
        store_.archive(store_.index_of(archived) or 0)
        store_.purge(store_.index_of(erased) or 0)
        store_.merge(store_.index_of(winner) or 0, store_.index_of(loser) or 0)
        sandbox.state.clock.advance(days=91)
        result = self.sync(sandbox, store)
        assert result.outcome is Outcome.COMPLETED
        assert [managed(store, "hubspot", i) for i in (archived, erased, loser)] == [False] * 3
        assert managed(store, "hubspot", winner) and managed(store, "hubspot", kept)

    def test_edits_search_has_not_indexed_yet_are_read_by_a_later_run(
        self, sandbox: HubSpotSandbox, store: Store
    ) -> None:
        """A run right after user edits misses those search lags on; the next run, once the index caught up,
        reads them within its overlap, and every contact ends with the flags its decision says."""
        assert self.sync(sandbox, store).outcome is Outcome.COMPLETED
        sandbox.state.clock.advance(seconds=3)
        edited = set(hubspot_user_edits(sandbox.state, 30, seed=5, today=NOW))
        early = self.sync(sandbox, store)
        assert early.tally.read < len(edited), "search had not indexed the edits yet"
        sandbox.state.clock.advance(seconds=3)
        later = self.sync(sandbox, store)
        assert early.tally.read + later.tally.read >= len(edited)
        sandbox.state.clock.advance(seconds=3)  # search indexes the run's own write-back
        crm = self.crm(sandbox)
        records = [r for page in crm.pull("contacts", since=None) for r in page.records]
        decided = Pipeline(crm, CompiledMapping(HS_MAPPING), POLICY, store).decide(
            records, today=NOW, now=sandbox.state.clock.now()
        )
        assert len(decided) == 300 and [d.record.id for d in decided if d.plan.update is not None] == []
