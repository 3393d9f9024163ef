"""The webhook queue on a real SQLite store: de-duplication, claims with a lease, backoff, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.store import NewEvent, Store, open_store
from connector.store.queue import EventStatus
from connector.store.tables import events

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def change(key: str, record_id: str = "151") -> NewEvent:
    return NewEvent(dedupe_key=key, object_type="contacts", record_id=record_id, kind="change")


def test_redelivered_events_are_absorbed_per_crm(store: Store) -> None:
    first = store.queue.enqueue("hubspot", [change("1:151"), change("2:151"), change("2:151")], now=T0)
    again = store.queue.enqueue("hubspot", [change("1:151"), change("3:151")], now=T0)
    other_crm = store.queue.enqueue("salesforce", [change("1:151")], now=T0)
    assert (first.queued, first.duplicates) == (2, 1)
    assert (again.queued, again.duplicates) == (1, 1)
    assert other_crm.queued == 1
    assert store.queue.pending() == 4


def test_a_claim_takes_due_events_oldest_first_and_leases_them(store: Store) -> None:
    store.queue.enqueue("hubspot", [change(f"{i}:1{i}", f"1{i}") for i in range(5)], now=T0)
    claimed = store.queue.claim(now=T0, limit=3, lease=LEASE)
    assert [e.record_id for e in claimed] == ["10", "11", "12"]
    assert all(e.attempts == 1 for e in claimed)
    rest = store.queue.claim(now=T0, limit=10, lease=LEASE)
    assert [e.record_id for e in rest] == ["13", "14"], "leased events are not claimed twice"
    assert store.queue.claim(now=T0 + LEASE - timedelta(seconds=1), limit=10, lease=LEASE) == []
    reclaimed = store.queue.claim(now=T0 + LEASE, limit=10, lease=LEASE)
    assert len(reclaimed) == 5 and all(e.attempts == 2 for e in reclaimed), "a dead worker's lease ends"


def test_done_events_stay_as_deduplication_memory_until_pruned(store: Store) -> None:
    store.queue.enqueue("hubspot", [change("1:151")], now=T0)
    store.queue.done([e.id for e in store.queue.claim(now=T0, limit=10, lease=LEASE)])
    assert store.queue.enqueue("hubspot", [change("1:151")], now=T0).duplicates == 1
    assert store.queue.prune_done(T0 + timedelta(days=8)) == 1
    assert store.queue.enqueue("hubspot", [change("1:151")], now=T0).queued == 1


def test_failures_back_off_then_move_to_the_dead_letters_and_can_be_retried(store: Store) -> None:
    store.queue.enqueue("salesforce", [change("04l000000000001AAA", "0037F00000AbCdEQAZ")], now=T0)
    now = T0
    for attempt in range(1, 4):
        (event,) = store.queue.claim(now=now, limit=10, lease=LEASE)
        assert event.attempts == attempt
        died = store.queue.fail([event], code="ServiceUnavailableError", now=now, max_attempts=3)
        assert died == (1 if attempt == 3 else 0)
        assert store.queue.claim(now=now, limit=10, lease=LEASE) == [], "not due before its backoff"
        now += timedelta(hours=1)
    (letter,) = store.queue.dead_letters()
    assert (letter.attempts, letter.error_code, letter.record_id) == (
        3,
        "ServiceUnavailableError",
        "0037F00000AbCdEQAZ",
    )
    assert [(d.crm, d.pending, d.dead) for d in store.queue.depth()] == [("salesforce", 0, 1)]
    assert store.queue.retry_dead(now=now, crm="hubspot") == 0
    assert store.queue.retry_dead(now=now) == 1
    (revived,) = store.queue.claim(now=now, limit=10, lease=LEASE)
    assert revived.attempts == 1


def test_forgetting_a_person_removes_their_queued_events(store: Store) -> None:
    store.queue.enqueue("hubspot", [change("1:151"), change("2:152", "152")], now=T0)
    store.audit.forget("hubspot", "151")
    assert [e.record_id for e in store.queue.claim(now=T0, limit=10, lease=LEASE)] == ["152"]


def test_the_queue_commands_show_depth_and_dead_letters_and_revive_them(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    store.queue.enqueue(
        "salesforce", [change("04l000000000001AAA", "0037F00000AbCdEQAZ"), change("k2", "x2")], now=T0
    )
    claimed = store.queue.claim(now=T0, limit=1, lease=LEASE)
    store.queue.fail(claimed, code="FIELD_CUSTOM_VALIDATION_EXCEPTION", now=T0, max_attempts=1)
    config = tmp_path / "lawful-crm.toml"
    config.write_text("", encoding="utf-8")
    runner = CliRunner()
    shown = runner.invoke(
        app, ["queue", "show", "--config", str(config), "--store", url], env={"COLUMNS": "200"}
    )
    assert shown.exit_code == 0, shown.output
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in shown.output and "0037F00000AbCdEQAZ" in shown.output
    retried = runner.invoke(
        app, ["queue", "retry", str(claimed[0].id), "--config", str(config), "--store", url]
    )
    assert retried.exit_code == 0 and "1 dead event(s) queued again" in retried.output
    assert store.queue.dead_letters() == [] and store.queue.pending() == 2
    store.close()


def test_the_status_column_holds_the_plain_values(store: Store) -> None:
    """``EventStatus`` is bound as its value on both databases: ``pending``, ``done`` and ``dead`` as text."""
    store.queue.enqueue("hubspot", [change("1:151"), change("2:152"), change("3:153")], now=T0)
    first, second, _ = store.queue.claim(now=T0, limit=10, lease=LEASE)
    store.queue.done([first.id])
    store.queue.fail([second], code="HTTP_500", now=T0, max_attempts=1)
    with store.engine.connect() as db:
        rows = db.execute(
            select(events.c.status, func.count()).group_by(events.c.status).order_by(events.c.status)
        ).all()
    assert [(status, count) for status, count in rows] == [("dead", 1), ("done", 1), ("pending", 1)]
    assert all(type(status) is str for status, _ in rows)
    assert [status for status in EventStatus] == ["pending", "done", "dead"]
