"""The scheduler over a real store and the App: the sync runs under the CRM's lease, never twice at once, then
housekeeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from connector import bootstrap
from connector.policy import PolicySettings
from connector.settings import Settings
from connector.store import AuditEntry, NewEvent, Store, open_store
from connector.sync.lease import SYNC_LEASE_TTL
from connector.sync.run import SyncOptions, SyncResult
from connector.webhooks.metrics import Metrics
from connector.webhooks.schedule import Scheduler
from tests.conftest import facts
from tests.dnc_keys import TEST_KEY_HEX
from tests.fakes import FakeCrm

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def scheduler_for(store: Store, crm: FakeCrm, metrics: Metrics, **options: object) -> Scheduler:
    """A scheduler whose syncs are the App's (the lease included), with ``crm`` as the Salesforce adapter."""
    app = bootstrap.build(
        Settings(dnc_key=SecretStr(TEST_KEY_HEX)), store=store, role="serve", clock=lambda: NOW,
        adapters={"salesforce": lambda settings, mapping, limiter=None: crm},
    )  # fmt: skip

    def sync_one(name: str) -> SyncResult:
        return app.sync(name, SyncOptions())

    settings: dict[str, object] = {"schedule": "0 2 * * *", "time_zone": "Europe/Amsterdam", "retention_months": 24,
                                   "clock": lambda: NOW} | options  # fmt: skip
    return Scheduler(store, ["salesforce"], sync_one, metrics, **settings)  # type: ignore[arg-type]


def test_a_scheduled_run_syncs_each_crm_under_its_lease_and_releases_it(store: Store) -> None:
    crm, metrics = FakeCrm.seeded(30), Metrics()
    scheduler_for(store, crm, metrics).fire()
    assert len(crm.written_ids()) == 30
    assert metrics.value("lawful_crm_syncs_total", crm="salesforce", outcome="completed") == 1
    assert store.locks.acquire("sync:salesforce", "someone-else", now=NOW, ttl=SYNC_LEASE_TTL), (
        "lease released"
    )


def test_a_crm_another_process_is_syncing_is_skipped(store: Store) -> None:
    crm, metrics = FakeCrm.seeded(5), Metrics()
    assert store.locks.acquire("sync:salesforce", "other-host:77:sync", now=NOW, ttl=SYNC_LEASE_TTL)
    assert scheduler_for(store, crm, metrics).sync_locked("salesforce") is None
    assert crm.calls == 0
    assert metrics.value("lawful_crm_syncs_total", crm="salesforce", outcome="skipped") == 1


def test_a_failing_sync_is_counted_and_still_releases_the_lease(store: Store) -> None:
    crm, metrics = FakeCrm.seeded(60, crash_after_pages=0), Metrics()
    scheduler = scheduler_for(store, crm, metrics)
    assert scheduler.sync_locked("salesforce") is None
    assert metrics.value("lawful_crm_syncs_total", crm="salesforce", outcome="failed") == 1
    assert store.locks.acquire("sync:salesforce", "someone-else", now=NOW, ttl=SYNC_LEASE_TTL)


def test_housekeeping_prunes_audit_past_retention_and_old_settled_events(store: Store) -> None:
    from connector.policy import evaluate

    old = NOW - timedelta(days=800)
    contact = facts(id="003A")
    decision = evaluate(contact, now=old.date(), settings=PolicySettings())
    for run_id, record in enumerate(("003A", "003A", "003B"), start=1):
        changed = facts(id=record, objection=f"2023-0{run_id}-01")
        store.audit.record(
            "salesforce", run_id, [AuditEntry("Contact", record, changed, decision, "written")], now=old
        )
    store.queue.enqueue("salesforce", [NewEvent("n1", "Contact", "003A", "change")], now=old)
    store.queue.done([e.id for e in store.queue.claim(now=old, limit=5, lease=timedelta(minutes=1))])
    scheduler_for(store, FakeCrm(), Metrics()).housekeeping()
    assert len(store.audit.history("salesforce", "003A")) == 1, "the latest entry of a live record stays"
    assert store.queue.depth() == []


def test_the_loop_waits_for_the_cron_time_and_stops_at_once(store: Store) -> None:
    fired = threading.Event()
    scheduler = scheduler_for(
        store, FakeCrm(), Metrics(), schedule="* * * * *", clock=lambda: datetime.now(UTC)
    )
    scheduler.fire = lambda stop=None: fired.set()  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(0.05)
    stop.set()
    thread.join(2)
    assert not thread.is_alive(), "stop ends the wait at once, not at the next minute"
