"""The sync on a Salesforce org with its own rules: a validation rule that refuses some write-backs fails those
records only, with the rule's code, and the run completes; a trigger that sets a field in the same save is not
read back as a change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("no_retry_waits")
MAPPING = load_mapping("salesforce")


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=400, leads=60, seed=29) as running:
        yield running


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(sandbox: SalesforceSandbox, store: Store) -> SyncResult:
    config = SalesforceConfig(
        auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=500
    )
    crm = SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)
    crm.install(dry_run=False, uninstall=False)
    return run_sync(crm, CompiledMapping(MAPPING), PolicySettings(), store, SyncOptions(), today=NOW)


def test_a_validation_rule_fails_only_the_records_it_matches(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    """Contacts the org's rule refuses fail with FIELD_CUSTOM_VALIDATION_EXCEPTION; every other record is
    written, the run completes, and the next run tries the refused ones again."""
    sandbox.state.rules.add(
        "validation", object="Contact", name="Review_Needs_Owner", field="Lawful_Use_Review__c",
        condition="Lawful_Use_Review__c = true AND Title = null", message="A record for review needs a title",
    )  # fmt: skip
    first = sync(sandbox, store)
    assert first.outcome is Outcome.COMPLETED
    assert first.tally.failed > 0 and first.tally.written > 0
    assert set(first.tally.errors) == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    refused = store.audit.failed("salesforce", "Contact", limit=10_000)
    assert len(refused) == first.tally.failed
    latest = store.audit.history("salesforce", refused[0])[-1]
    assert latest.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    again = sync(sandbox, store)
    assert again.outcome is Outcome.COMPLETED and again.tally.failed == first.tally.failed


def test_a_trigger_setting_a_field_in_the_same_save_is_not_read_back(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    """A before-save trigger moves the record with our write; the next run still reads nothing."""
    sandbox.state.rules.add(
        "trigger", object="Contact", name="Note", values={"Lead_Source_Detail__c": "synced"}
    )
    first = sync(sandbox, store)
    assert first.outcome is Outcome.COMPLETED and first.tally.written > 0
    assert sync(sandbox, store).tally.read == 0
