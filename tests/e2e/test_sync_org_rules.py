"""The sync on a Salesforce org with its own rules: a validation rule that refuses some write-backs fails those
records only, with the rule's code, and the run completes; records it keeps refusing are parked after a few runs
and tried again when they change; a trigger that sets a field in the same save is not read back as a change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.admin.overview import collect
from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.salesforce.seed import SALES_USER_ID
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW
from tests.e2e.test_cli_admin_flow import lawful_crm

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


def sync(
    sandbox: SalesforceSandbox, store: Store, policy: PolicySettings | None = None, **options: Any
) -> SyncResult:
    config = SalesforceConfig(
        auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=500
    )
    crm = SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)
    crm.install(dry_run=False, uninstall=False)
    return run_sync(
        crm, CompiledMapping(MAPPING), policy or PolicySettings(), store, SyncOptions(**options), today=NOW
    )


def refuse_reviews_without_a_title(sandbox: SalesforceSandbox) -> None:
    """The org's validation rule: a contact flagged for review must have a title."""
    sandbox.state.rules.add(
        "validation", object="Contact", name="Review_Needs_Owner", field="Lawful_Use_Review__c",
        condition="Lawful_Use_Review__c = true AND Title = null", message="A record for review needs a title",
    )  # fmt: skip


def user_edit(sandbox: SalesforceSandbox, record_id: str, **values: Any) -> None:
    """A salesperson's edit in Salesforce."""
    located = sandbox.state.store.locate(record_id)
    assert located is not None
    sandbox.state.store.update("Contact", located[1], values, by=SALES_USER_ID)


def test_a_validation_rule_fails_only_the_records_it_matches(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    """Contacts the org's rule refuses fail with FIELD_CUSTOM_VALIDATION_EXCEPTION; every other record is
    written, the run completes, and the next run tries the refused ones again."""
    refuse_reviews_without_a_title(sandbox)
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


def test_records_the_org_keeps_refusing_are_parked_after_a_few_runs_and_tried_again_when_they_change(
    sandbox: SalesforceSandbox, store: Store, store_url: str, tmp_path: Path
) -> None:
    """Refused records are tried again by the next `refused_retries` runs, then parked: shown by the run (count,
    codes) and the audit (every refused attempt an entry), not read again. A parked record a user changes is read
    and tried once more: written when the change satisfies the rule, parked again when it does not; a new policy
    tries them all once more."""
    retries = 2
    refuse_reviews_without_a_title(sandbox)
    runs = [sync(sandbox, store, refused_retries=retries) for _ in range(retries + 2)]
    refused = sorted(r.record_id for r in store.audit.refusals("salesforce", "Contact"))
    count = len(refused)
    assert count > 2 and runs[0].tally.failed == count
    assert [run.tally.failed for run in runs] == [count] * (retries + 1) + [0], "tried 1 + retries times"
    assert [run.parked for run in runs] == [0] * (retries + 1) + [count]
    parked = runs[-1]
    assert parked.outcome is Outcome.COMPLETED and parked.tally.read == 0, "parked records are not read again"
    assert any(f"{count} Contact records" in note and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in note
               for note in parked.notes)  # fmt: skip
    history = store.audit.history("salesforce", refused[0])
    assert [(e.write_status, e.error_code) for e in history] == [
        ("refused", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    ] * (retries + 1), "every refused attempt keeps its own entry"
    assert {r.times for r in store.audit.refusals("salesforce", more_than=retries)} == {retries + 1}
    shown = collect(store, ["salesforce"], now=datetime.now(UTC), schedule="0 2 * * *", time_zone="UTC")
    assert shown.crms[0].refused == {"FIELD_CUSTOM_VALIDATION_EXCEPTION": count}, "the admin's report"
    listed = lawful_crm("audit", "refused", "--store", store_url, "--json", cwd=tmp_path).stdout.splitlines()
    assert sorted(json.loads(line)["record_id"] for line in listed) == refused, "lawful-crm audit refused"

    fixed, unfixed = refused[0], refused[1]
    user_edit(sandbox, fixed, Title="Buyer")  # satisfies the rule
    user_edit(sandbox, unfixed, FirstName="Renamed")  # a change that does not
    after_edits = sync(sandbox, store, refused_retries=retries)
    assert (after_edits.tally.written, after_edits.tally.failed) == (1, 1)
    assert store.audit.history("salesforce", fixed)[-1].write_status == "written"
    assert store.audit.history("salesforce", unfixed)[-1].write_status == "refused"
    quiet = sync(sandbox, store, refused_retries=retries)
    assert (quiet.tally.updates, quiet.tally.failed, quiet.parked) == (0, 0, count - 1)

    stricter = PolicySettings(consent_max_idle_months=6)  # more records for review: more refusals too
    renewed = sync(sandbox, store, stricter, refused_retries=retries)
    assert renewed.parked == 0 and renewed.tally.failed >= count - 1, "a new policy tries the parked again"
    assert sync(sandbox, store, stricter, refused_retries=retries).parked == count - 1


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
