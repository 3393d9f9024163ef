"""The store on a real SQLite file and a real PostgreSQL schema: migrations match the tables, the audit keeps
changes only, deletion and retention erase, cursors and locks hold between processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from connector.crm.port import Cursor
from connector.models import ContactFacts
from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, RunKind, RunOutcome, Store, WriteStatus, open_store
from connector.store.engine import HEAD, create_store_engine, current_revision, downgrade, upgrade
from connector.store.tables import decisions, metadata, runs
from tests.conftest import NOW, facts

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def entry(record_id: str, contact: ContactFacts | None = None, status: str = "written") -> AuditEntry:
    contact = contact or facts(id=record_id)
    decision = evaluate(contact, now=NOW, settings=PolicySettings())
    return AuditEntry("Contact", record_id, contact, decision, status, {"Email_Allowed__c": False})


def test_migrations_create_exactly_the_declared_tables(store_url: str) -> None:
    engine = create_store_engine(store_url)
    assert current_revision(engine) is None
    open_store(store_url).close()
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_migrations_go_down_to_nothing_and_up_again(store_url: str) -> None:
    """Every migration's downgrade undoes its upgrade, so an admin can step back a release."""
    engine = create_store_engine(store_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_sqlite_store_runs_in_wal_mode(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("write-ahead logging is SQLite's")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_audit_keeps_a_new_entry_only_when_facts_decision_or_outcome_change(store: Store) -> None:
    assert store.audit.record("salesforce", 1, [entry("003A"), entry("003B")], now=T0) == 2
    assert store.audit.record("salesforce", 2, [entry("003A", status="unchanged")], now=T0) == 0
    changed = facts(id="003A", objection="2026-10-01")
    assert store.audit.record("salesforce", 3, [entry("003A", changed)], now=T0) == 1
    assert store.audit.record("salesforce", 4, [entry("003A", changed, "failed")], now=T0) == 1
    history = store.audit.history("salesforce", "003A")
    assert [row.run_id for row in history] == [1, 3, 4]
    assert history[1].facts["objection"] == "2026-10-01"
    assert history[1].decision["lawful_use"] == "objected"


def test_forget_erases_every_entry_of_one_person_only(store: Store) -> None:
    store.audit.record("salesforce", 1, [entry("003A"), entry("003B")], now=T0)
    store.audit.record("salesforce", 2, [entry("003A", facts(id="003A", objection="2026-10-01"))], now=T0)
    assert store.audit.forget("salesforce", "003A") == 2
    assert store.audit.history("salesforce", "003A") == []
    assert len(store.audit.history("salesforce", "003B")) == 1


def test_forget_leaves_no_fragment_of_the_person_in_the_database_files(tmp_path: Path) -> None:
    """Deleted rows are overwritten and the write-ahead log emptied: the files hold no trace of the record."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    marker = "LIA-ERASE-ME-7f3a9c"
    store.audit.record("salesforce", 1, [entry("003ZZ9", facts(id="003ZZ9", lia_ref=marker))], now=T0)
    store.audit.record("salesforce", 1, [entry("003B")], now=T0)
    store.audit.forget("salesforce", "003ZZ9")
    for path in tmp_path.glob("store.db*"):
        content = path.read_bytes()
        assert marker.encode() not in content and b"003ZZ9" not in content, path.name


def test_retention_prunes_old_entries_but_keeps_each_records_latest(store: Store) -> None:
    old = T0 - timedelta(days=800)
    store.audit.record("salesforce", 1, [entry("003A"), entry("003B")], now=old)
    store.audit.record("salesforce", 2, [entry("003A", facts(id="003A", objection="2026-10-01"))], now=T0)
    assert store.audit.prune(T0 - timedelta(days=730)) == 1
    assert [r.run_id for r in store.audit.history("salesforce", "003A")] == [2]
    assert [r.run_id for r in store.audit.history("salesforce", "003B")] == [1], (
        "the evidence for current flags stays"
    )


def test_cursors_round_trip_with_aware_utc_times(store: Store) -> None:
    cursor = Cursor("Contact", datetime(2026, 11, 27, 23, 59, 1, 500, tzinfo=UTC), "003Z")
    store.cursors.save("salesforce", cursor, run_id=1, now=T0)
    assert store.cursors.get("salesforce", "Contact") == cursor
    assert store.cursors.get("hubspot", "Contact") is None
    marked = Cursor(
        "Lead", T0, "00QZ", own_writes_from=T0, own_writes_until=T0 + timedelta(seconds=5),
        consents_from=T0 - timedelta(hours=1), consents_seen=("0ZYA", "0ZYB"),
    )  # fmt: skip
    store.cursors.save("salesforce", marked, run_id=1, now=T0)
    assert store.cursors.get("salesforce", "Lead") == marked, (
        "the write window and the consent mark come back"
    )


def test_a_lock_is_exclusive_until_released_or_expired(store_url: str) -> None:
    one, two = open_store(store_url), open_store(store_url)
    assert one.locks.acquire("sync:salesforce", "a", now=T0, ttl=timedelta(hours=1))
    assert not two.locks.acquire("sync:salesforce", "b", now=T0, ttl=timedelta(hours=1))
    assert two.locks.acquire("sync:salesforce", "b", now=T0 + timedelta(hours=2), ttl=timedelta(hours=1))
    two.locks.release("sync:salesforce", "b")
    assert one.locks.acquire("sync:salesforce", "a", now=T0 + timedelta(hours=2), ttl=timedelta(hours=1))
    one.close()
    two.close()


def test_a_lock_held_by_a_dead_process_on_this_host_is_taken_over(store: Store) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert store.locks.acquire(
        "sync:hubspot", f"{socket.gethostname()}:{dead.pid}", now=T0, ttl=timedelta(hours=12)
    )
    assert store.locks.acquire("sync:hubspot", "me", now=T0, ttl=timedelta(hours=1)), (
        "the dead owner's lease is free"
    )
    assert not store.locks.acquire(
        "sync:hubspot", f"{socket.gethostname()}:{dead.pid}x", now=T0, ttl=timedelta(hours=1)
    )


def test_write_statuses_are_kept_as_their_plain_values(store: Store) -> None:
    """``WriteStatus`` is bound as its value on both databases, and a record's fingerprint is the one a plain
    string gives (a run after this change finds nothing changed)."""
    enum = [entry("003A", status=WriteStatus.WRITTEN), entry("003B", status=WriteStatus.FAILED)]
    plain = [entry("003A", status="written"), entry("003B", status="failed")]
    assert store.audit.record("salesforce", 1, enum, now=T0) == 2
    assert store.audit.record("salesforce", 2, plain, now=T0) == 1, (
        "a write keeps its own entry, a repeated failure none"
    )
    with store.engine.connect() as db:
        kept = db.execute(select(decisions.c.write_status).order_by(decisions.c.id)).scalars().all()
    assert kept == ["written", "failed", "written"] and all(type(status) is str for status in kept)
    assert store.audit.failed("salesforce", "Contact", limit=10) == ["003B"]


def test_run_kinds_and_outcomes_are_kept_as_their_plain_values(store: Store) -> None:
    """``RunKind`` and ``RunOutcome`` are bound as their values on both databases, and the queries by kind and
    outcome find the runs."""
    for kind in RunKind:
        run_id = store.runs.start("hubspot", kind, policy_id="p", now=T0)
        store.runs.finish(run_id, outcome=RunOutcome.COMPLETED, counts={}, now=T0)
    store.runs.start("salesforce", RunKind.FULL, policy_id="p", now=T0)
    assert store.runs.close_abandoned(now=T0, alive=lambda crm: False) == 1
    with store.engine.connect() as db:
        kept = db.execute(select(runs.c.kind, runs.c.outcome).order_by(runs.c.id)).all()
    assert [tuple(row) for row in kept] == [
        *[(kind, "completed") for kind in ("full", "incremental", "dry_run", "shard", "webhook")],
        ("full", "interrupted"),
    ]
    assert all(type(kind) is str and type(outcome) is str for kind, outcome in kept)
    assert set(store.runs.last_completed()) == {
        ("hubspot", "full"),
        ("hubspot", "incremental"),
        ("hubspot", "shard"),
    }
    assert store.runs.has_completed("hubspot") and not store.runs.has_completed("salesforce")
