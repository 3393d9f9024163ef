"""The sync shell over an in-memory CRM and a real SQLite store: writes, idempotence, crashes, quota, guard."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.load import load_mapping
from connector.mapping.writeback import written_values
from connector.policy import PolicySettings, evaluate
from connector.store import Store, open_store
from connector.sync.collection import RUN_THRESHOLDS
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from tests.conftest import NOW
from tests.fakes import EPOCH, FakeCrm

MAPPING = CompiledMapping(load_mapping("salesforce"))
POLICY = PolicySettings()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(crm: FakeCrm, store: Store, **options: Any) -> SyncResult:
    return run_sync(crm, MAPPING, POLICY, store, SyncOptions(**options), clock=crm.now, today=NOW)


def expected_values(crm: FakeCrm, record_id: str) -> dict[str, object]:
    facts = facts_from_record(MAPPING, "Contact", record_id, crm.records[record_id], modified=EPOCH.date())
    return written_values(evaluate(facts, now=NOW, settings=POLICY), MAPPING.mapping.writeback, "salesforce")


def assert_every_record_correct(crm: FakeCrm) -> None:
    for record_id, fields in crm.records.items():
        wanted = expected_values(crm, record_id)
        assert {k: fields.get(k) for k in wanted} == wanted, record_id


def test_first_run_writes_every_record_and_a_second_run_writes_nothing(store: Store) -> None:
    crm = FakeCrm.seeded(230)
    first = sync(crm, store, full=True)
    assert first.outcome is Outcome.COMPLETED
    assert first.tally.read == 230 and first.tally.written == 230
    assert_every_record_correct(crm)
    assert all(fields["Lawful_Use_Checked__c"] for fields in crm.records.values())

    writes_before = len(crm.writes)
    second = sync(crm, store, full=True)
    assert second.tally.read == 230
    assert second.tally.updates == 0 and len(crm.writes) == writes_before
    assert second.tally.audited == 0, "an unchanged org adds nothing to the audit"


def test_a_run_collects_garbage_as_a_run_wants_and_gives_the_settings_back(store: Store) -> None:
    before, during = gc.get_threshold(), []
    crm = FakeCrm.seeded(20)
    run_sync(
        crm, MAPPING, POLICY, store, SyncOptions(full=True), clock=crm.now, today=NOW,
        progress=lambda _: during.append(gc.get_threshold()),
    )  # fmt: skip
    assert during and set(during) == {RUN_THRESHOLDS}
    assert gc.get_threshold() == before


def test_incremental_run_reads_only_changed_records_and_writes_only_changed_decisions(store: Store) -> None:
    crm = FakeCrm.seeded(300)
    sync(crm, store)
    writes_before = len(crm.writes)
    callable_ids = sorted(i for i, f in crm.records.items() if f["Do_Not_Cold_Call__c"] is False)
    flipped, untouched = callable_ids[0], callable_ids[1]
    crm.edit(flipped, DoNotCall=True)  # the person asked not to be called: the flag must flip
    crm.edit(untouched, Phone="+31 20 765 4321")  # a change that moves no flag
    result = sync(crm, store)
    assert result.tally.read == 2
    assert crm.written_ids()[writes_before:] == [flipped]
    assert crm.records[flipped]["Do_Not_Cold_Call__c"] is True
    assert result.tally.transitions == {"do_not_cold_call: false→true": 1}
    assert_every_record_correct(crm)


def test_a_crash_midway_then_a_normal_run_ends_correct_with_no_record_written_twice(store: Store) -> None:
    crm = FakeCrm.seeded(400, page_size=50, crash_after_pages=3)
    with pytest.raises(RuntimeError):
        sync(crm, store)
    assert len(crm.writes) == 150
    crm.crash_after_pages = None
    result = sync(crm, store)
    assert result.outcome is Outcome.COMPLETED
    assert_every_record_correct(crm)
    written = crm.written_ids()
    assert len(written) == len(set(written)) == 400


def test_quota_exhaustion_stops_cleanly_and_the_next_run_resumes(store: Store) -> None:
    crm = FakeCrm.seeded(400, page_size=50, quota_after_calls=5)
    stopped = sync(crm, store)
    assert stopped.outcome is Outcome.STOPPED and "budget" in (stopped.message or "")
    assert 0 < len(crm.writes) < 400
    crm.quota_after_calls = None
    resumed = sync(crm, store)
    assert resumed.outcome is Outcome.COMPLETED
    assert (
        resumed.tally.read == 400 - len([w for w in crm.writes[:0]]) - stopped.tally.read
        or resumed.tally.read > 0
    )
    assert_every_record_correct(crm)
    assert len(crm.written_ids()) == len(set(crm.written_ids())) == 400
    assert [run.outcome for run in store.runs.recent("salesforce")] == ["completed", "stopped"]


def test_a_failing_record_is_reported_and_skipped_and_the_others_are_written(store: Store) -> None:
    crm = FakeCrm.seeded(60)
    ids = sorted(crm.records)
    crm.reject_on_write[ids[5]] = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    crm.gone_on_write.add(ids[6])
    result = sync(crm, store)
    assert result.outcome is Outcome.COMPLETED
    assert (result.tally.written, result.tally.failed, result.tally.gone) == (58, 1, 1)
    assert result.tally.errors == {"FIELD_CUSTOM_VALIDATION_EXCEPTION": 1}
    [entry] = store.audit.history("salesforce", ids[5])
    assert entry.write_status == "refused" and entry.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_the_next_incremental_run_reads_failed_records_again_and_forgets_the_ones_deleted_since(
    store: Store,
) -> None:
    """A record whose write failed is read again by id (its cursor has moved on); once the cause is gone it is
    written; a record deleted since then has its audit entries erased instead of being asked for forever."""
    crm = FakeCrm.seeded(60)
    ids = sorted(crm.records)
    refused, vanished = ids[5], ids[9]
    crm.reject_on_write.update({refused: "FIELD_CUSTOM_VALIDATION_EXCEPTION", vanished: "UNABLE_TO_LOCK_ROW"})
    assert sync(crm, store).tally.failed == 2
    assert set(store.audit.failed("salesforce", "Contact", limit=10)) == {refused, vanished}

    crm.reject_on_write.clear()  # the admin fixed the validation rule
    del crm.records[vanished]  # and someone deleted the other record meanwhile
    second = sync(crm, store)
    assert second.outcome is Outcome.COMPLETED
    assert second.tally.written == 1 and crm.written_ids().count(refused) == 1  # read by id, written once
    assert store.audit.history("salesforce", refused)[-1].write_status == "written"
    assert store.audit.history("salesforce", vanished) == []
    assert store.audit.failed("salesforce", "Contact", limit=10) == []
    assert sync(crm, store).tally.read == 0


def test_dry_run_writes_nothing_saves_no_cursor_and_reports_every_change(store: Store) -> None:
    crm = FakeCrm.seeded(120)
    changes: list[tuple[str, str, object, object]] = []
    result = run_sync(
        crm, MAPPING, POLICY, store, SyncOptions(dry_run=True), clock=crm.now, today=NOW,
        on_change=lambda item, status: changes.extend((c.record_id, c.field, c.old, c.new) for c in item.plan.changes),
    )  # fmt: skip
    assert crm.writes == [] and result.tally.updates == 120
    assert store.cursors.get("salesforce", "Contact") is None
    assert store.audit.count() == 0
    assert {field for _, field, _, _ in changes} >= {
        "Do_Not_Cold_Call__c",
        "Email_Allowed__c",
        "Lawful_Use__c",
    }


def test_the_guard_refuses_a_run_that_a_broken_mapping_makes_permissive(store: Store) -> None:
    crm = FakeCrm.seeded(200)
    sync(crm, store)
    # a "broken" mapping: every record now looks like an own opt-in with fresh consent
    for record_id in crm.records:
        crm.edit(record_id, LeadSource="Web", Email_Opt_In_Date__c="2026-11-01", HasOptedOutOfEmail=False)
    writes_before = len(crm.writes)
    refused = sync(crm, store)
    assert refused.outcome is Outcome.REFUSED
    assert refused.guard is not None and refused.guard.loosened > refused.guard.limit
    assert len(crm.writes) == writes_before, "nothing of the refused page was written"
    accepted = sync(crm, store, accept_large_change=True)
    assert accepted.outcome is Outcome.COMPLETED and accepted.tally.written > 0


def test_deleted_records_erase_their_audit_entries(store: Store) -> None:
    crm = FakeCrm.seeded(30)
    sync(crm, store)
    victim = sorted(crm.records)[3]
    assert store.audit.history("salesforce", victim)
    crm.deleted.add(victim)
    crm.edit(victim)
    result = sync(crm, store)
    assert result.tally.deleted == 1
    assert store.audit.history("salesforce", victim) == []


def test_limit_stops_after_n_records_and_the_next_run_finishes_the_full_run_it_owes(store: Store) -> None:
    """The first run on an empty store is a full run; stopped by --limit it stays owed, so the next run reads
    everything again but writes only what the first did not, and the one after is incremental."""
    crm = FakeCrm.seeded(200, page_size=50)
    first = sync(crm, store, limit=60)
    assert first.outcome is Outcome.STOPPED and first.tally.read == 100 and first.kind == "full"
    rest = sync(crm, store)
    assert rest.kind == "full" and rest.tally.read == 200 and rest.tally.written == 100
    assert_every_record_correct(crm)
    assert sync(crm, store).kind == "incremental"
