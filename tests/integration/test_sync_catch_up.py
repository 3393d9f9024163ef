"""Flags that stay right without an edit: an ordinary run decides again whatever is due (time passing, a register
change, a policy change, a mapping change), and a full re-decision right after it plans nothing.

The fake CRM counts every pull and write; the store and the do-not-call registers are real (SQLite).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.commands.upcoming import summarise_upcoming
from connector.dnc.registers import DncRegisters
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.models import Profile, SourceKind
from connector.policy import PolicySettings
from connector.store import Store, open_store
from connector.store.packing import pack
from connector.store.tables import decisions, record_states
from connector.sync.run import Outcome, SyncOptions, SyncResult, run_sync
from tests.conftest import NOW
from tests.dnc_keys import TEST_KEY
from tests.fakes import FakeCrm

MAPPING = CompiledMapping(load_mapping("salesforce"))
POLICY = PolicySettings()
SHARED_PHONE = "+31 20 123 4567"
"""The number two thirds of the fake org's contacts share (``tests.fakes.contact_fields``)."""


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def sync(
    crm: FakeCrm,
    store: Store,
    *,
    today: date = NOW,
    policy: PolicySettings = POLICY,
    mapping: CompiledMapping = MAPPING,
    **options: Any,
) -> SyncResult:
    registers = DncRegisters(store, key=TEST_KEY, today=lambda: today)
    return run_sync(
        crm, mapping, policy, store, SyncOptions(**options), clock=crm.now, today=today, screener=registers
    )


def full_replan(crm: FakeCrm, store: Store, **kwargs: Any) -> SyncResult:
    """What a full re-decision of the whole org would change: must be nothing right after an ordinary run."""
    return sync(crm, store, full=True, dry_run=True, accept_large_change=True, **kwargs)


def test_three_years_without_an_edit_are_caught_up_from_the_store_without_reading_the_org(
    store: Store,
) -> None:
    crm = FakeCrm.seeded(300)
    sync(crm, store)
    later = NOW + timedelta(days=3 * 365)
    pulls_before, writes_before = crm.pages_served, len(crm.writes)
    result = sync(crm, store, today=later, accept_large_change=True)
    assert result.outcome is Outcome.COMPLETED and result.kind == "incremental"
    assert result.redecided > 0 and result.tally.written > 0
    assert crm.pages_served - pulls_before <= 1, "no record is read again: only the (empty) incremental pull"
    assert len(crm.writes) - writes_before == result.tally.written
    assert result.tally.read == result.redecided
    assert any("expired" in note for note in result.notes)
    assert full_replan(crm, store, today=later).tally.updates == 0
    again = sync(crm, store, today=later)
    assert again.redecided == 0 and again.tally.written == 0, "what was due is done exactly once"


def test_an_expired_decision_closes_the_channel_on_the_day_it_should(store: Store) -> None:
    """A consent of 2026-03-01 is fresh for 24 months: e-mail stays allowed through 2028-03-01, not after."""
    crm = FakeCrm.seeded(60)
    sync(crm, store)
    consented = [
        i for i, f in crm.records.items() if f["Email_Allowed__c"] is True and f["Email_Opt_In_Date__c"]
    ]
    assert consented
    sync(crm, store, today=date(2028, 3, 1))
    assert all(crm.records[i]["Email_Allowed__c"] is True for i in consented)
    sync(crm, store, today=date(2028, 3, 2), accept_large_change=True)
    assert all(crm.records[i]["Email_Allowed__c"] is False for i in consented)


def test_a_number_added_to_the_own_list_is_screened_by_the_next_ordinary_run(store: Store) -> None:
    crm = FakeCrm.seeded(120)
    sync(crm, store)
    callable_ids = [i for i, f in crm.records.items() if f["Do_Not_Cold_Call__c"] is False]
    assert callable_ids, "the fixture must have callable contacts"
    for record_id in callable_ids:
        crm.edit(record_id, Phone=SHARED_PHONE)  # salespeople record the switchboard number
    sync(crm, store)
    assert all(crm.records[i]["Do_Not_Cold_Call__c"] is False for i in callable_ids)
    DncRegisters(store, key=TEST_KEY, today=lambda: NOW).add_own(SHARED_PHONE, "NL")
    pulls_before = crm.pages_served
    result = sync(crm, store)
    assert crm.pages_served - pulls_before <= 1, "no record is read again"
    assert all(crm.records[i]["Do_Not_Cold_Call__c"] is True for i in callable_ids)
    assert result.tally.transitions["do_not_cold_call: false→true"] == len(callable_ids)
    assert result.tally.written == result.tally.updates  # the others' reason now names the own list
    assert full_replan(crm, store).tally.updates == 0
    assert sync(crm, store).redecided == 0, "a register change is screened exactly once"


def test_a_register_change_then_an_interrupted_full_run_is_still_caught_up(store: Store) -> None:
    crm = FakeCrm.seeded(200, page_size=50)
    sync(crm, store)
    callable_ids = [i for i, f in crm.records.items() if f["Do_Not_Cold_Call__c"] is False]
    for record_id in callable_ids:
        crm.edit(record_id, Phone=SHARED_PHONE)
    sync(crm, store)
    DncRegisters(store, key=TEST_KEY, today=lambda: NOW).add_own(SHARED_PHONE, "NL")
    stopped = sync(crm, store, full=True, limit=60)
    assert stopped.outcome is Outcome.STOPPED
    result = sync(crm, store)
    assert result.outcome is Outcome.COMPLETED
    assert all(crm.records[i]["Do_Not_Cold_Call__c"] is True for i in callable_ids)
    assert full_replan(crm, store).tally.updates == 0


def test_a_policy_change_redecides_every_record_from_the_store(store: Store) -> None:
    crm = FakeCrm.seeded(200)
    sync(crm, store)
    lenient = PolicySettings(profile=Profile.LEGAL_MINIMUM)
    pulls_before = crm.pages_served
    result = sync(crm, store, policy=lenient, accept_large_change=True)
    assert result.redecided == 200 and crm.pages_served - pulls_before <= 1
    assert any("another policy" in note for note in result.notes)
    assert full_replan(crm, store, policy=lenient).tally.updates == 0
    assert sync(crm, store, policy=lenient).redecided == 0


def test_a_mapping_change_makes_the_next_run_a_full_run_and_says_why(store: Store) -> None:
    crm = FakeCrm.seeded(100)
    sync(crm, store)
    assert sync(crm, store).kind == "incremental"
    sources = dict(MAPPING.mapping.sources) | {"Supplier": SourceKind.PURCHASED_LIST}
    edited = CompiledMapping(MAPPING.mapping.model_copy(update={"sources": sources}))
    result = sync(crm, store, mapping=edited, accept_large_change=True)
    assert result.kind == "full" and result.tally.read == 100
    assert any("mapping changed" in note for note in result.notes)
    assert full_replan(crm, store, mapping=edited).tally.updates == 0
    assert sync(crm, store, mapping=edited).kind == "incremental"


def test_the_first_run_on_an_empty_store_is_a_full_run(store: Store) -> None:
    crm = FakeCrm.seeded(10)
    first = sync(crm, store)
    assert first.kind == "full" and any("no full run" in note for note in first.notes)


def test_a_run_cut_short_by_an_error_is_recorded_failed_and_the_full_run_stays_owed(store: Store) -> None:
    crm = FakeCrm.seeded(200, page_size=50, crash_after_pages=2)
    with pytest.raises(RuntimeError):
        sync(crm, store)
    [run] = store.runs.recent("salesforce", limit=1)
    assert run.outcome == "failed" and run.kind == "full"
    assert "RuntimeError" in str(run.counts["message"])
    crm.crash_after_pages = None
    assert sync(crm, store).kind == "full"


def test_a_run_stopped_by_ctrl_c_is_recorded_interrupted_never_completed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = FakeCrm.seeded(200, page_size=50)
    sync(crm, store)
    sync(crm, store, full=True)

    def interrupted(updates: Any) -> Any:
        raise KeyboardInterrupt

    DncRegisters(store, key=TEST_KEY, today=lambda: NOW).add_own(SHARED_PHONE, "NL")
    for record_id in list(crm.records)[:5]:
        crm.edit(record_id, Phone=SHARED_PHONE)
    monkeypatch.setattr(crm, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sync(crm, store, full=True)
    [run] = store.runs.recent("salesforce", limit=1)
    assert run.outcome == "interrupted" and run.kind == "full"


def test_a_dry_run_as_of_a_later_date_previews_the_expiries_and_changes_nothing(store: Store) -> None:
    crm = FakeCrm.seeded(100)
    sync(crm, store)
    before = {i: dict(f) for i, f in crm.records.items()}
    preview = sync(crm, store, today=date(2029, 1, 1), dry_run=True)
    assert preview.tally.updates > 0 and crm.records == before
    assert (
        sync(crm, store, today=date(2029, 1, 1), accept_large_change=True).tally.written
        == preview.tally.updates
    )


def test_the_store_keeps_what_each_flag_rests_on(store: Store) -> None:
    crm = FakeCrm.seeded(30)
    sync(crm, store)
    due = store.due.tally("salesforce", today=date(2099, 1, 1), policy_id=POLICY.policy_id, registers="other")
    assert due.expired > 0 and due.policy == 0 and due.registers > 0
    assert dataclasses.fields(
        store.due.page("salesforce", "Contact", today=NOW, policy_id="x", registers="y")[0]
    )


def test_upcoming_lists_the_flag_changes_ahead_from_the_store_alone(store: Store, tmp_path: Path) -> None:
    """The consents of 2026-03-01 lapse after 24 months: upcoming names the day, the change and the cause."""
    crm = FakeCrm.seeded(60)
    sync(crm, store)
    consented = sum(
        1 for f in crm.records.values() if f["Email_Allowed__c"] is True and f["Email_Opt_In_Date__c"]
    )
    changes = summarise_upcoming(
        store.due.upcoming("salesforce", start=date.min, end=NOW + timedelta(days=1200)),
        settings=POLICY,
        today=NOW,
    )
    stale = [c for c in changes if c.day == date(2028, 3, 2) and "consent goes stale" in c.cause]
    assert sum(c.records for c in stale if c.change == "e-mail closed") == consented
    soon = summarise_upcoming(
        store.due.upcoming("salesforce", start=date.min, end=NOW + timedelta(days=30)),
        settings=POLICY,
        today=NOW,
    )
    assert all(c.day <= NOW + timedelta(days=30) for c in soon)
    url = store.engine.url.render_as_string(hide_password=False)
    shown = subprocess.run(
        [sys.executable, "-m", "connector.cli", "upcoming", "--days", "1200", "--as-of", NOW.isoformat(),
         "--json", "--store", url],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert {"date": "2028-03-02", "crm": "salesforce", "change": "e-mail closed"}.items() <= next(
        r for r in rows if r["date"] == "2028-03-02" and r["change"] == "e-mail closed"
    ).items()


def test_a_stored_entry_that_no_longer_reads_is_read_from_the_crm_and_the_run_goes_on(store: Store) -> None:
    """One bad stored entry never stops a run: that record is read again by id and decided from the CRM."""
    crm = FakeCrm.seeded(20)
    sync(crm, store)
    victim = sorted(crm.records)[3]
    with store.engine.begin() as db:
        state = db.execute(select(record_states).where(record_states.c.record_id == victim)).one()
        db.execute(
            update(decisions).where(decisions.c.id == state.decision_id).values(facts=pack({"id": ""}))
        )
        db.execute(  # as an entry written by an older model: other facts, so another fingerprint
            update(record_states)
            .where(record_states.c.record_id == victim)
            .values(valid_until=date(2000, 1, 1), fingerprint="older")
        )
    result = sync(crm, store)
    assert result.outcome is Outcome.COMPLETED
    assert [d.record_id for d in store.due.page("salesforce", "Contact", today=NOW, policy_id=POLICY.policy_id,
                                                 registers="none")] == []  # fmt: skip
    assert store.audit.history("salesforce", victim)[-1].facts["id"] == victim


def test_an_unexpected_error_ends_the_sync_command_with_exit_5_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever breaks inside a run (a bug, a full disk), the command says so in one line and exits 5."""
    from typer.testing import CliRunner

    from connector import bootstrap
    from connector.cli import app

    def broken(*args: Any, **kwargs: Any) -> SyncResult:
        raise OSError(28, "No space left on device: secret-looking detail")

    monkeypatch.setattr(bootstrap.App, "sync", broken)
    config = tmp_path / "lawful-crm.toml"
    config.write_text(
        '[hubspot]\naccess_token = "pat-x"\n[store]\nurl = "sqlite:///store.db"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 5, result.output
    assert "failed unexpectedly (OSError)" in result.output and "secret-looking" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_after_a_catch_up_the_next_runs_read_only_its_own_echo(store: Store) -> None:
    """The catch-up's writes are read back once by the next run (as many as were written) and the earlier
    run's echo stays skipped: a quiet org is never read again in full."""
    crm = FakeCrm.seeded(300)
    sync(crm, store)
    later = date(2029, 12, 3)
    caught_up = sync(crm, store, today=later, accept_large_change=True)
    assert 0 < caught_up.tally.written < 300
    echo = sync(crm, store, today=later)
    assert echo.tally.read <= caught_up.tally.written and echo.tally.written == 0
    quiet = sync(crm, store, today=later)
    assert quiet.tally.read == 0 and quiet.redecided == 0


def test_the_catch_up_writes_in_full_batches_however_few_records_change(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy change re-decides every record, but the few that change are written in as few calls as a
    write batch allows, not one call per page of records decided again."""
    crm = FakeCrm.seeded(1500)
    sync(crm, store)
    calls: list[int] = []
    write = crm.write

    def counted(updates: Any) -> Any:
        calls.append(len(updates))
        return write(updates)

    monkeypatch.setattr(crm, "write", counted)
    stricter = PolicySettings(consent_max_idle_months=6)
    result = sync(crm, store, policy=stricter)
    assert result.redecided == 1500 and result.tally.written > 0
    assert len(calls) == -(-result.tally.written // 200), (calls, result.tally.written)
    assert result.tally.written < 200, "few changes spread over every page of the store"
