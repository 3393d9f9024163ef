"""A sync of a large org through Bulk API 2.0 ends as a REST sync does: same flags, same audit, same summary.

Two sandboxes seeded alike; one is synced with the default threshold (REST pages and collections), the other
with `bulk_threshold` low enough that the full pull runs as Bulk query jobs and the write-back, once past the
threshold, as Bulk update jobs. An org validation rule makes some writes fail on both. Record by record the
connector's fields (but `checked`, a timestamp of each run) and every audit entry must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.crm.salesforce import SalesforceCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import field_names
from connector.policy import PolicySettings
from connector.settings import SalesforceConfig
from connector.store import Store, open_store
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce
from tests.conftest import NOW

MAPPING = load_mapping("salesforce")
COMPILED = CompiledMapping(MAPPING)
CHECKED = MAPPING.writeback.checked
OWN = [name for role, name in field_names(MAPPING.writeback).items() if role != "checked"]

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def org() -> Any:
    return running_salesforce(contacts=700, seed=23)


@pytest.fixture
def orgs() -> Iterator[tuple[SalesforceSandbox, SalesforceSandbox]]:
    with org() as rest, org() as bulk:
        for sandbox in (rest, bulk):  # some writes fail alike on both: a rule on the lead's country
            sandbox.state.rules.add(
                "validation", object="Contact", name="ReviewTitle", message="A record for review needs a title",
                condition="Lawful_Use_Review__c = true AND Title = null",
            )  # fmt: skip
        yield rest, bulk


def adapter(sandbox: SalesforceSandbox, **settings: Any) -> SalesforceCrm:
    config = SalesforceConfig(
        auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token), page_size=200,
        **settings,
    )  # fmt: skip
    return SalesforceCrm.from_config(config, MAPPING, bulk_poll_s=0)


def sync(crm: SalesforceCrm, store: Store, **options: Any) -> SyncResult:
    return run_sync(crm, COMPILED, PolicySettings(), store, SyncOptions(**options), today=NOW)


def flags(sandbox: SalesforceSandbox, store: Store) -> dict[str, dict[str, Any]]:
    """Record id -> its own fields but `checked`, read directly from the org, for every record audited."""
    found: dict[str, dict[str, Any]] = {}
    for object_type in ("Contact", "Lead"):
        for record_id in store.audit.managed_ids("salesforce", object_type):
            record = sandbox.state.record(object_type, record_id)
            assert record is not None
            found[record_id] = {name: record.get(name) for name in OWN}
    return found


def audit(store: Store, ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Record id -> its audit entries: status, error code, values written but `checked`, facts, decision."""
    return {
        record_id: [
            (
                row.write_status,
                row.error_code,
                {k: v for k, v in (row.written or {}).items() if k != CHECKED},
                dict(row.facts),
                {k: v for k, v in row.decision.items() if k not in ("decided_at",)},
            )
            for row in store.audit.history("salesforce", record_id)
        ]
        for record_id in ids
    }


def test_a_bulk_sync_ends_with_the_flags_and_audit_of_a_rest_sync(
    orgs: tuple[SalesforceSandbox, SalesforceSandbox], tmp_path: Path
) -> None:
    rest_org, bulk_org = orgs
    rest_store = open_store(f"sqlite:///{tmp_path / 'rest.db'}")
    bulk_store = open_store(f"sqlite:///{tmp_path / 'bulk.db'}")
    rest_crm, bulk_crm = adapter(rest_org), adapter(bulk_org, bulk_threshold=300)
    rest_crm.install(dry_run=False, uninstall=False)
    bulk_crm.install(dry_run=False, uninstall=False)

    by_rest = sync(rest_crm, rest_store)
    bulk_org.state.reset_counters()
    by_bulk = sync(bulk_crm, bulk_store)

    assert by_rest.outcome is Outcome.COMPLETED and by_bulk.outcome is Outcome.COMPLETED
    assert by_bulk.tally.failed == by_rest.tally.failed > 0, "the validation rule refuses some writes on both"
    for name in ("read", "updates", "written", "failed", "gone", "transitions", "errors", "categories"):
        assert by_bulk.tally.as_dict()[name] == by_rest.tally.as_dict()[name], name
    counters = bulk_org.state.counters
    assert counters["POST bulkQueryJob"] == 3, "the contacts (over the threshold), won deals, consent rows"
    assert counters["POST bulkCreateJob"] == 2, "one update job per object's pull, once past the threshold"
    assert counters["GET query"] == 2, "by REST per page only the leads' consent rows (210 leads: 2 pages)"
    assert counters["PATCH compositeUpdate"] == 0, "a pull in bulk: the write-back in bulk from its start"
    assert by_bulk.bulk_jobs == counters["POST bulkQueryJob"] + counters["POST bulkCreateJob"]
    assert by_bulk.bulk_polls == counters["GET bulkQueryJobInfo"] + counters["GET bulkJob"] > 0
    assert by_bulk.bulk_calls < by_bulk.api_calls
    assert any("Contact full pull: Bulk API 2.0" in note for note in by_bulk.transfers)
    assert any("Lead full pull: REST" in note for note in by_bulk.transfers), "210 leads: under the threshold"
    assert any("write-back: Bulk API 2.0" in note for note in by_bulk.transfers)
    assert all("Bulk" not in note for note in by_rest.transfers)
    assert by_bulk.counts()["bulk"] == {"calls": by_bulk.bulk_calls, "jobs": by_bulk.bulk_jobs,
                                        "polls": by_bulk.bulk_polls}  # fmt: skip

    rest_flags, bulk_flags = flags(rest_org, rest_store), flags(bulk_org, bulk_store)
    assert len(bulk_flags) == by_bulk.tally.read - by_bulk.tally.deleted
    assert bulk_flags == rest_flags
    ids = sorted(rest_flags)
    assert audit(bulk_store, ids) == audit(rest_store, ids)
    assert bulk_store.audit.unsettled("salesforce", "Contact", limit=10) == []

    again_rest, again_bulk = (
        sync(adapter(rest_org), rest_store),
        sync(adapter(bulk_org, bulk_threshold=300), bulk_store),
    )
    assert again_rest.tally.read == by_rest.tally.failed, "only the records whose write failed are read again"
    assert again_bulk.tally.read == again_rest.tally.read, "the bulk write-back's echo is not read back"
    assert audit(bulk_store, ids) == audit(rest_store, ids)
