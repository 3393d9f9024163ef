"""serve on a PostgreSQL store with the workers draining: each group commit of webhook events defers the
drains of the shards it touched in the same transaction, once per waiting shard, and none for duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from connector.jobs.intake import drains_deferred_on_receipt
from connector.store import NewEvent, Store, open_store

pytest.importorskip("procrastinate")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    opened = open_store(postgres_schema_url)
    yield opened
    opened.close()


def change(key: str, record_id: str) -> NewEvent:
    return NewEvent(dedupe_key=key, object_type="contacts", record_id=record_id, kind="change")


def waiting_drains(store: Store) -> list[tuple[str, int]]:
    with store.engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT args->>'crm', (args->>'shard')::int FROM procrastinate_jobs "
                "WHERE task_name = 'lawful_crm.drain' AND status = 'todo' ORDER BY 1, 2"
            )
        ).all()
    return [(str(crm), int(shard)) for crm, shard in rows]


def test_stored_events_come_with_one_waiting_drain_per_shard(store: Store) -> None:
    assert drains_deferred_on_receipt(store, shards=4)
    ids = [str(151 + i) for i in range(40)]
    store.queue.enqueue("hubspot", [change(f"1:{i}", i) for i in ids], now=NOW)
    shards = {store.queue.shard_of(i, 4) for i in ids}
    assert waiting_drains(store) == sorted(("hubspot", shard) for shard in shards)
    store.queue.enqueue("hubspot", [change(f"2:{i}", i) for i in ids], now=NOW)
    store.queue.enqueue("salesforce", [change("04l1", "0035g00000AbCdE")], now=NOW)
    drains = waiting_drains(store)
    assert len(drains) == len(shards) + 1, "a waiting drain takes the new events of its shard too"
    assert ("salesforce", store.queue.shard_of("0035g00000AbCdE", 4)) in drains


def test_duplicates_defer_nothing_and_an_sqlite_store_is_left_alone(store: Store) -> None:
    assert drains_deferred_on_receipt(store, shards=4)
    store.queue.enqueue("hubspot", [change("1:151", "151")], now=NOW)
    with store.engine.begin() as db:
        db.execute(text("DELETE FROM procrastinate_jobs"))
    assert store.queue.enqueue("hubspot", [change("1:151", "151")], now=NOW).duplicates == 1
    assert waiting_drains(store) == []
    sqlite = open_store("sqlite://")
    assert not drains_deferred_on_receipt(sqlite, shards=4)
    sqlite.close()
