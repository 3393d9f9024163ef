"""The worker over an in-memory CRM and a real SQLite store: the sync's pipeline, forgetting, retries, dead letters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from connector.crm.port import CrmRecord
from connector.errors import ServiceUnavailableError
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.store import NewEvent, Store, open_store
from connector.sync.pipeline import Pipeline
from connector.webhooks.metrics import Metrics
from connector.webhooks.worker import Worker, WorkerOptions
from tests.fakes import FakeCrm, flags
from tests.helpers import SettableClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MAPPING = CompiledMapping(load_mapping("salesforce"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def worker_for(crm: FakeCrm, store: Store, clock: SettableClock, **options: object) -> tuple[Worker, Metrics]:
    metrics = Metrics()
    pipeline = Pipeline(crm, MAPPING, PolicySettings(), store)
    worker = Worker(store, lambda name: pipeline, metrics, WorkerOptions(**options), clock=clock)  # type: ignore[arg-type]
    return worker, metrics


def enqueue(store: Store, *events: tuple[str, str, str]) -> None:
    new = [NewEvent(key, "Contact", record_id, kind) for key, record_id, kind in events]  # type: ignore[arg-type]
    store.queue.enqueue("salesforce", new, now=T0)


def test_changed_records_are_read_once_decided_written_and_logged_as_a_webhook_run(store: Store) -> None:
    crm, clock = FakeCrm.seeded(5), SettableClock(T0)
    ids = sorted(crm.records)[:3]
    enqueue(
        store,
        ("n1", ids[0], "change"),
        ("n2", ids[0], "change"),
        ("n3", ids[1], "change"),
        ("n4", ids[2], "change"),
    )
    worker, metrics = worker_for(crm, store, clock)
    assert worker.drain_once() == 4
    assert crm.calls == 2, "one read and one write for the whole batch"
    assert sorted(crm.written_ids()) == ids
    assert all(flags(crm.records[i]) != (None, None) for i in ids)
    assert store.queue.pending() == 0
    (run,) = store.runs.recent("salesforce")
    assert (run.kind, run.outcome, run.counts["read"], run.counts["events"]) == ("webhook", "completed", 3, 4)
    assert len(store.audit.history("salesforce", ids[0])) == 1
    assert metrics.value("lawful_crm_writes_total", crm="salesforce", trigger="webhook") == 3
    assert metrics.value("lawful_crm_worker_events_total", crm="salesforce", outcome="done") == 4


def test_the_echo_of_our_own_write_decides_again_and_writes_nothing(store: Store) -> None:
    crm, clock = FakeCrm.seeded(3), SettableClock(T0)
    record_id = sorted(crm.records)[0]
    enqueue(store, ("n1", record_id, "change"))
    worker, _ = worker_for(crm, store, clock)
    worker.drain_once()
    writes = len(crm.writes)
    enqueue(store, ("n2-echo-of-our-write", record_id, "change"))
    worker.drain_once()
    assert len(crm.writes) == writes
    assert len(store.audit.history("salesforce", record_id)) == 1, "an unchanged decision adds no audit entry"


def test_deletions_and_records_no_longer_found_erase_the_persons_audit_entries(store: Store) -> None:
    crm, clock = FakeCrm.seeded(4), SettableClock(T0)
    a, b, c, _ = sorted(crm.records)
    enqueue(store, ("n1", a, "change"), ("n2", b, "change"), ("n3", c, "change"))
    worker, metrics = worker_for(crm, store, clock)
    worker.drain_once()
    assert all(store.audit.history("salesforce", i) for i in (a, b, c))
    del crm.records[b]  # hard-deleted: the read leaves it out
    crm.deleted.add(c)  # in the recycle bin: the read says deleted
    enqueue(store, ("n4", a, "privacy_delete"), ("n5", b, "change"), ("n6", c, "change"))
    worker.drain_once()
    assert [store.audit.history("salesforce", i) for i in (a, b, c)] == [[], [], []]
    assert metrics.value("lawful_crm_forgotten_total", crm="salesforce") == 3
    assert store.queue.pending() == 0
    assert store.queue.depth() == [], "forgetting also erased their settled events"


def test_a_failing_crm_retries_the_batch_with_backoff_then_dead_letters_it(store: Store) -> None:
    crm, clock = FakeCrm.seeded(2), SettableClock(T0)
    record_id = sorted(crm.records)[0]

    def unavailable(object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        raise ServiceUnavailableError("503 from the CRM (test)")

    crm.read = unavailable  # type: ignore[method-assign]
    enqueue(store, ("n1", record_id, "change"))
    worker, metrics = worker_for(crm, store, clock, max_attempts=3)
    assert worker.drain_once() == 1
    assert worker.drain_once() == 0, "not retried before its backoff"
    for _ in range(2):
        clock.now += timedelta(hours=1)
        assert worker.drain_once() == 1
    (letter,) = store.queue.dead_letters()
    assert (letter.attempts, letter.error_code) == (3, "ServiceUnavailableError")
    assert [run.outcome for run in store.runs.recent("salesforce")] == ["failed"] * 3
    assert metrics.value("lawful_crm_worker_events_total", crm="salesforce", outcome="dead") == 1


def test_a_record_the_crm_refuses_to_update_is_retried_alone_and_its_code_kept(store: Store) -> None:
    crm, clock = FakeCrm.seeded(3), SettableClock(T0)
    good, refused = sorted(crm.records)[:2]
    crm.reject_on_write[refused] = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    enqueue(store, ("n1", good, "change"), ("n2", refused, "change"))
    worker, _ = worker_for(crm, store, clock, max_attempts=1)
    worker.drain_once()
    (letter,) = store.queue.dead_letters()
    assert (letter.record_id, letter.error_code) == (refused, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert crm.written_ids() == [good]


def test_reads_are_split_at_the_crms_batch_limit(store: Store) -> None:
    crm, clock = FakeCrm.seeded(450), SettableClock(T0)
    sizes: list[int] = []
    read = crm.read

    def counting(object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        sizes.append(len(ids))
        return read(object_type, ids)

    crm.read = counting  # type: ignore[method-assign]
    enqueue(store, *((f"n{i}", record_id, "change") for i, record_id in enumerate(sorted(crm.records))))
    worker, _ = worker_for(crm, store, clock)
    worker.drain_once()
    assert sizes == [200, 200, 50]
    assert len(crm.written_ids()) == 450


def test_the_running_worker_wakes_as_soon_as_events_arrive(store: Store) -> None:
    crm = FakeCrm.seeded(2)
    record_id = sorted(crm.records)[0]
    metrics = Metrics()
    pipeline = Pipeline(crm, MAPPING, PolicySettings(), store)
    worker = Worker(store, lambda name: pipeline, metrics, WorkerOptions(poll_s=30))
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, wake), daemon=True)
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    store.queue.enqueue("salesforce", [NewEvent("n1", "Contact", record_id, "change")], now=datetime.now(UTC))
    wake.set()
    while not crm.writes and time.monotonic() - started < 5:
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    stop.set()
    wake.set()
    thread.join(5)
    assert crm.written_ids() == [record_id]
    assert elapsed < 1.0, "woken by the receiver, not by the 30 s poll"
    assert not thread.is_alive()


def test_a_record_deleted_then_restored_in_one_batch_is_forgotten_and_decided_again(store: Store) -> None:
    crm, clock = FakeCrm.seeded(3), SettableClock(T0)
    restored, erased = sorted(crm.records)[:2]
    enqueue(store, ("n1", restored, "change"), ("n2", erased, "change"))
    worker, _ = worker_for(crm, store, clock)
    worker.drain_once()
    crm.edit(restored, DoNotCall=True)  # changed while in the recycle bin
    enqueue(store, ("n3", restored, "delete"), ("n4", restored, "change"), ("n5", erased, "change"),
            ("n6", erased, "privacy_delete"))  # fmt: skip
    worker.drain_once()
    (entry,) = store.audit.history("salesforce", restored)
    assert entry.decision["do_not_cold_call"] is True, (
        "the old entries erased, the restored record decided anew"
    )
    assert store.audit.history("salesforce", erased) == [], "a privacy deletion always erases"


class _PeopleCrm(FakeCrm):
    """A CRM where an Individual's id reads as the contacts of that person (as SalesforceCrm.read does)."""

    people: dict[str, list[str]]

    def read(self, object_type: str, ids: Sequence[str]) -> list[CrmRecord]:
        if object_type == "Individual":
            return super().read("Contact", [c for i in ids for c in self.people.get(i, [])])
        return super().read(object_type, ids)


def test_a_consent_record_event_decides_its_individuals_contacts_and_forgets_nothing(store: Store) -> None:
    crm, clock = _PeopleCrm.seeded(4), SettableClock(T0)
    contacts = sorted(crm.records)[:2]
    crm.people = {"0PK000000000001AAA": contacts}
    store.queue.enqueue("salesforce", [NewEvent("n1", "Individual", "0PK000000000001AAA", "change")], now=T0)
    worker, metrics = worker_for(crm, store, clock)
    assert worker.drain_once() == 1
    assert sorted(crm.written_ids()) == contacts
    (run,) = store.runs.recent("salesforce")
    assert (run.counts["read"], run.counts["forgotten"]) == (2, 0), "an Individual is no record to forget"
    assert metrics.value("lawful_crm_forgotten_total", crm="salesforce") == 0
