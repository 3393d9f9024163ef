"""No write without its audit entry: pending entries kept before a write is sent, settled by its outcome or, when
the process died in between, by the next run's read of the records. A real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connector.cli import app
from connector.crm.port import FieldUpdate, WriteOutcome
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings, evaluate
from connector.store import INTERRUPTED, AuditEntry, Store, WriteStatus, open_store
from connector.store.tables import decisions
from connector.sync.run import SyncOptions, SyncResult, run_sync
from tests.conftest import NOW, facts
from tests.fakes import FakeCrm

MAPPING = CompiledMapping(load_mapping("salesforce"))
POLICY = PolicySettings()
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
SENT = {"Email_Allowed__c": False, "Lawful_Use_Checked__c": "2026-11-01T02:00:00Z"}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def entry(
    record_id: str, status: str, written: dict[str, Any] | None = None, code: str | None = None
) -> AuditEntry:
    contact = facts(id=record_id)
    decision = evaluate(contact, now=NOW, settings=POLICY)
    return AuditEntry("Contact", record_id, contact, decision, status, written, code)


def statuses(store: Store, crm: str = "salesforce") -> dict[str, list[str]]:
    """Record id -> the write status of each of its entries, oldest first."""
    query = select(decisions.c.record_id, decisions.c.write_status).where(decisions.c.crm == crm)
    found: dict[str, list[str]] = {}
    with store.engine.connect() as db:
        for row in db.execute(query.order_by(decisions.c.id)):
            found.setdefault(row.record_id, []).append(row.write_status)
    return found


def test_a_pending_entry_is_settled_in_place_by_its_outcome(store: Store) -> None:
    pending = store.audit.intend(
        "salesforce",
        1,
        [entry("003A", WriteStatus.PENDING, SENT), entry("003B", WriteStatus.PENDING, SENT)],
        now=T0,
    )
    assert [p.record_id for p in store.audit.unsettled("salesforce", "Contact", limit=10)] == ["003A", "003B"]
    assert store.audit.unsettled("salesforce", "Contact", limit=10)[0].values == SENT

    kept = store.audit.record(
        "salesforce",
        1,
        [entry("003A", "written", SENT), entry("003B", "failed", code="X")],
        now=T0,
        pending=pending,
    )
    assert kept == 2
    [a] = store.audit.history("salesforce", "003A")
    [b] = store.audit.history("salesforce", "003B")
    assert (a.id, a.write_status, a.written) == (pending["003A"], "written", SENT)
    assert (b.id, b.write_status, b.error_code, b.written) == (pending["003B"], "failed", "X", None)
    assert store.audit.unsettled("salesforce", "Contact", limit=10) == []
    assert store.audit.failed("salesforce", "Contact", limit=10) == ["003B"], (
        "the settled entry is the latest"
    )


def test_a_held_page_keeps_its_pending_entries_and_its_other_entries_as_one(store: Store) -> None:
    intents = [entry("003A", WriteStatus.PENDING, SENT)]
    if_failed: dict[str, str] = {}
    pending, kept = store.audit.hold(
        "salesforce",
        1,
        intents,
        [entry("003A", WriteStatus.PENDING, SENT), entry("003B", "unchanged")],
        now=T0,
        if_failed=if_failed,
    )
    assert kept == 2
    assert statuses(store) == {"003A": [WriteStatus.PENDING], "003B": ["unchanged"]}, (
        "one entry a record: the held write's pending entry is its entry"
    )
    [a] = store.audit.history("salesforce", "003A")
    assert (a.id, a.written) == (pending["003A"], SENT)
    [unsettled] = store.audit.unsettled("salesforce", "Contact", limit=10)
    assert (unsettled.record_id, unsettled.values) == ("003A", SENT)
    assert set(if_failed) == {"003A"}, "what the record's state becomes should the held write fail"
    assert store.audit.settle_writes({pending["003A"]: (WriteStatus.WRITTEN, None, "")}) == 1
    assert statuses(store) == {"003A": ["written"], "003B": ["unchanged"]}


def test_an_outcome_that_adds_nothing_drops_its_pending_entry_but_every_write_is_kept(store: Store) -> None:
    store.audit.record(
        "salesforce", 1, [entry("003A", "failed", code="X"), entry("003B", "written", SENT)], now=T0
    )
    pending = store.audit.intend(
        "salesforce",
        2,
        [entry("003A", WriteStatus.PENDING, SENT), entry("003B", WriteStatus.PENDING, SENT)],
        now=T0,
    )
    store.audit.record(
        "salesforce",
        2,
        [entry("003A", "failed", code="X"), entry("003B", "written", SENT)],
        now=T0,
        pending=pending,
    )
    assert statuses(store) == {"003A": ["failed"], "003B": ["written", "written"]}, (
        "the same failure again adds nothing; a second write of the same values is a second write"
    )


def test_a_write_cut_short_settles_the_entries_it_has_outcomes_for_and_leaves_the_rest_pending(
    store: Store,
) -> None:
    intents = [entry("003A", WriteStatus.PENDING, SENT), entry("003B", WriteStatus.PENDING, SENT)]
    pending = store.audit.intend("salesforce", 1, intents, now=T0)
    store.audit.record("salesforce", 1, [entry("003A", "written", SENT)], now=T0, pending=pending)
    assert statuses(store) == {"003A": ["written"], "003B": [WriteStatus.PENDING]}
    assert [p.record_id for p in store.audit.unsettled("salesforce", "Contact", limit=10)] == ["003B"]


def test_the_next_run_settles_entries_as_written_or_interrupted_once(store: Store) -> None:
    pending = store.audit.intend(
        "salesforce",
        1,
        [entry("003A", WriteStatus.PENDING, SENT), entry("003B", WriteStatus.PENDING, SENT)],
        now=T0,
    )
    assert store.audit.settle({pending["003A"]: True, pending["003B"]: False}) == 2
    assert store.audit.settle({pending["003A"]: False}) == 0, "a settled entry stays as it was settled"
    [a] = store.audit.history("salesforce", "003A")
    [b] = store.audit.history("salesforce", "003B")
    assert (a.write_status, a.written, a.error_code) == ("written", SENT, None)
    assert (b.write_status, b.written, b.error_code) == ("failed", None, INTERRUPTED)


def test_retention_never_prunes_an_unsettled_entry(store: Store) -> None:
    store.audit.intend("salesforce", 1, [entry("003A", WriteStatus.PENDING, SENT)], now=T0)
    assert store.audit.prune(T0 + timedelta(days=400)) == 0
    assert len(store.audit.unsettled("salesforce", "Contact", limit=10)) == 1


class Killed(BaseException):
    """The process dying: nothing after it runs (no handler catches a BaseException)."""


@dataclass
class DyingCrm(FakeCrm):
    """A FakeCrm whose process dies at write call ``die_at``: after the CRM applied it, or before."""

    die_at: int = 0
    applied: bool = True
    write_calls: int = 0

    def write(self, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        self.write_calls += 1
        if self.write_calls != self.die_at:
            return super().write(updates)
        if self.applied:
            super().write(updates)
        raise Killed


def sync(crm: FakeCrm, store: Store, **options: Any) -> SyncResult:
    return run_sync(crm, MAPPING, POLICY, store, SyncOptions(**options), clock=crm.now, today=NOW)


@pytest.mark.parametrize("applied", [True, False], ids=["after the write", "before the write"])
def test_a_process_killed_at_a_write_leaves_pending_entries_that_the_next_run_settles(
    store: Store, applied: bool
) -> None:
    crm = DyingCrm.seeded(120, page_size=40, die_at=2, applied=applied)
    with pytest.raises(Killed):
        sync(crm, store)
    left = store.audit.unsettled("salesforce", "Contact", limit=1000)
    assert len(left) == 40, "the page in flight is pending"

    crm.die_at = 0
    sync(crm, store)
    assert store.audit.unsettled("salesforce", "Contact", limit=1000) == []
    history = statuses(store)
    written = Counter(update.record_id for update in crm.writes)
    assert set(written) == set(crm.records), "every record was written"
    for record_id, times in written.items():
        assert history[record_id].count("written") == times, record_id
    interrupted = {p.record_id for p in left} if not applied else set()
    assert {r for r, s in history.items() if "failed" in s} == interrupted
    for record_id in interrupted:
        [before] = [
            row for row in store.audit.history("salesforce", record_id) if row.write_status == "failed"
        ]
        assert before.error_code == INTERRUPTED


def test_audit_show_and_export_tell_a_pending_entry_from_a_settled_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = open_store(url)
    run_id = store.runs.start("salesforce", "full", policy_id=POLICY.policy_id, now=T0)
    store.audit.intend("salesforce", run_id, [entry("003A", WriteStatus.PENDING, SENT)], now=T0)
    pending = store.audit.intend("salesforce", run_id, [entry("003B", WriteStatus.PENDING, SENT)], now=T0)
    store.audit.settle({pending["003B"]: False})
    store.close()
    wide = {"COLUMNS": "250"}
    shown = CliRunner().invoke(
        app, ["audit", "show", "--crm", "salesforce", "003A", "--store", url], env=wide
    )
    assert shown.exit_code == 0, shown.output
    assert "pending (sent, outcome not known yet)" in " ".join(shown.output.split())
    shown = CliRunner().invoke(
        app, ["audit", "show", "--crm", "salesforce", "003B", "--store", url], env=wide
    )
    assert "not written (interrupted)" in " ".join(shown.output.split())
    exported = CliRunner().invoke(app, ["audit", "export", "--crm", "salesforce", "003A", "--store", url])
    assert exported.exit_code == 0, exported.output
    [kept] = json.loads(exported.output)["entries"]
    assert (kept["write_status"], kept["written"]) == ("pending", SENT), "the values sent, marked pending"


def test_a_live_runs_write_in_flight_is_not_settled_as_unwritten_until_it_is_overdue(store: Store) -> None:
    """A worker's write may be in flight while a sync settles what is pending: while the worker's run is open
    and the entry recent, a record that does not hold the values yet leaves its entry pending."""
    crm = FakeCrm.seeded(3)
    sync(crm, store)
    first, second, third = sorted(crm.records)
    now = crm.now()
    worker = store.runs.start("salesforce", "webhook", policy_id=POLICY.policy_id, now=now)
    sent = {"Lawful_Use_Review__c": True, "Lawful_Use_Checked__c": "2026-01-01T00:00:00Z"}
    in_flight = store.audit.intend("salesforce", worker, [entry(first, WriteStatus.PENDING, sent)], now=now)
    overdue = store.audit.intend(
        "salesforce", worker, [entry(second, WriteStatus.PENDING, sent)], now=now - timedelta(hours=1)
    )
    landed = {"Lawful_Use_Checked__c": crm.records[third]["Lawful_Use_Checked__c"]}
    held = store.audit.intend("salesforce", worker, [entry(third, WriteStatus.PENDING, landed)], now=now)

    sync(crm, store)
    assert [p.id for p in store.audit.unsettled("salesforce", "Contact", limit=10)] == [in_flight[first]]
    [settled] = [row for row in store.audit.history("salesforce", second) if row.id == overdue[second]]
    assert (settled.write_status, settled.error_code) == ("failed", INTERRUPTED)
    [written] = [row for row in store.audit.history("salesforce", third) if row.id == held[third]]
    assert written.write_status == "written"
