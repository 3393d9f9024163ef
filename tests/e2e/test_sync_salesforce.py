"""The whole sync on the Salesforce sandbox: install, full run, idempotence, user edits, incremental run.

Real simple-salesforce over real HTTP, a real SQLite store; the flags written must equal what the policy says
for the same facts (what ``lawful-crm classify`` prints).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.models import Decision
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.sync.pipeline import Pipeline
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.salesforce.seed import SALES_USER_ID
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW

MAPPING = load_mapping("salesforce")
COMPILED = CompiledMapping(MAPPING)
POLICY = PolicySettings()
FLAGS = ("Do_Not_Cold_Call__c", "Email_Allowed__c", "Lawful_Use__c", "Lawful_Use_Review__c")


pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with running_salesforce(contacts=1200, seed=11) as running:
        yield running


def adapter(sandbox: SalesforceSandbox) -> SalesforceCrm:
    config = SalesforceConfig(
        auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=500
    )
    return SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)


def sync(sandbox: SalesforceSandbox, store: Store, **options: Any) -> SyncResult:
    return run_sync(adapter(sandbox), COMPILED, POLICY, store, SyncOptions(**options), today=NOW)


def flags_of(decision: Decision) -> dict[str, object]:
    """The values the connector's four fields must hold for this decision."""
    return {
        "Do_Not_Cold_Call__c": decision.do_not_cold_call,
        "Email_Allowed__c": decision.email_allowed,
        "Lawful_Use__c": decision.lawful_use.value,
        "Lawful_Use_Review__c": decision.review_needed,
    }


def user_edit(sandbox: SalesforceSandbox, record_id: str, **values: Any) -> None:
    """A salesperson's edit in the org: new values, SystemModstamp moves."""
    located = sandbox.state.store.locate(record_id)
    assert located is not None
    spec, index = located
    sandbox.state.store.update(spec.name, index, values, by=SALES_USER_ID)


def all_records(sandbox: SalesforceSandbox) -> list[Any]:
    crm = adapter(sandbox)
    return [
        r for t in crm.object_types for page in crm.pull(t, since=None) for r in page.records if not r.deleted
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def test_first_run_writes_what_the_policy_decides_and_the_next_runs_write_nothing(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    crm = adapter(sandbox)
    assert crm.install(dry_run=False, uninstall=False).created
    first = sync(sandbox, store)
    assert first.outcome is Outcome.COMPLETED and first.tally.failed == 0
    assert first.tally.written == first.tally.read > 1200

    records = all_records(sandbox)
    decided = Pipeline(crm, COMPILED, POLICY, store).decide(records, today=NOW, now=datetime.now(UTC))
    for item in decided:
        assert {f: item.record.fields[f] for f in FLAGS} == flags_of(item.decision), item.record.id
        assert item.plan.update is None, "a fresh read finds nothing left to write"

    again = sync(sandbox, store)
    assert again.tally.read == 0, "our own write-back is not read back as a change"
    full = sync(sandbox, store, full=True)
    assert full.tally.read == first.tally.read and full.tally.updates == 0


def test_an_incremental_run_reads_the_edited_records_and_writes_only_changed_decisions(
    sandbox: SalesforceSandbox, store: Store
) -> None:
    adapter(sandbox).install(dry_run=False, uninstall=False)
    sync(sandbox, store)
    contacts = [r for r in all_records(sandbox) if r.object_type == "Contact"]
    callable_contacts = [r.id for r in contacts if r.fields["Do_Not_Cold_Call__c"] is False][:20]
    quiet = [r.id for r in contacts][-30:]
    for record_id in callable_contacts:
        user_edit(sandbox, record_id, DoNotCall=True)
    for record_id in quiet:
        user_edit(sandbox, record_id, Title="Head of Purchasing")
    sandbox.state.reset_counters()
    changed: list[str] = []
    result = run_sync(
        adapter(sandbox), COMPILED, POLICY, store, SyncOptions(), today=NOW,
        on_change=lambda item, status: changed.append(item.record.id),
    )  # fmt: skip
    edited = set(callable_contacts) | set(quiet)
    assert result.tally.read == len(edited)
    assert result.tally.written == len(callable_contacts)
    assert result.tally.transitions["do_not_cold_call: false→true"] == len(callable_contacts)
    for record_id in callable_contacts:
        assert sandbox.state.record("Contact", record_id)["Do_Not_Cold_Call__c"] is True
        [*_, latest] = store.audit.history("salesforce", record_id)
        assert latest.write_status == "written" and latest.facts["optout_phone"]
    assert set(changed) == set(callable_contacts), "only the changed decisions are written"
    assert result.api_calls <= 10, (
        f"an incremental run of {len(edited)} records took {result.api_calls} calls"
    )


def test_messy_records_come_out_for_review_never_permissive(sandbox: SalesforceSandbox, store: Store) -> None:
    adapter(sandbox).install(dry_run=False, uninstall=False)
    sync(sandbox, store)
    records = all_records(sandbox)
    decided = Pipeline(adapter(sandbox), COMPILED, POLICY, store).decide(
        records, today=NOW, now=datetime.now(UTC)
    )
    messy = [d for d in decided if d.facts.issues]
    assert messy, "the seeded org holds unmapped picklist values and malformed fields"
    for item in messy:
        channels = {issue.channel for issue in item.facts.issues}
        if channels & {"both", "email"}:
            assert not item.record.fields["Email_Allowed__c"]
        if channels & {"both", "phone"}:
            assert item.record.fields["Do_Not_Cold_Call__c"]
        assert item.record.fields["Lawful_Use_Review__c"] or item.decision.lawful_use.value == "objected"
