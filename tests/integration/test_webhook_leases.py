"""A killed ``serve`` leaves its claimed webhook events leased; the next worker on the host frees them at once
(the owner process is gone) instead of after ``lease_s``, and never takes a live worker's claims."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector.store import NewEvent, Store, open_store
from connector.store.locks import owner_gone
from connector.store.tables import events
from tests.fakes import FakeCrm
from tests.helpers import SettableClock
from tests.integration.test_webhook_worker import T0, worker_for

LEASE = timedelta(minutes=5)

CLAIM_AND_HANG = """
import os, socket, sys, time
from datetime import UTC, datetime, timedelta
from connector.store import open_store
store = open_store(sys.argv[1])
owner = f"{socket.gethostname()}:{os.getpid()}:serve"
claimed = store.queue.claim(now=datetime.fromisoformat(sys.argv[2]), limit=10, lease=timedelta(minutes=5), owner=owner)
print(len(claimed), flush=True)
time.sleep(600)
"""


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('leases') / 'store.db'}"
    opened = open_store(url)
    yield opened
    opened.close()


def enqueue(store: Store, crm: FakeCrm, count: int) -> list[str]:
    ids = sorted(crm.records)[:count]
    new = [NewEvent(f"n{i}", "Contact", record_id, "change") for i, record_id in enumerate(ids)]
    store.queue.enqueue("salesforce", new, now=T0)
    return ids


def claim_in_a_process_then_kill_it(store: Store) -> int:
    """A real process claims the due events as ``serve``'s worker does, and is SIGKILLed holding them."""
    url = store.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, url, T0.isoformat()], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    claimed = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    child.stdout.close()
    return claimed


def test_a_killed_workers_claims_are_processed_at_once_by_the_next_worker(store: Store) -> None:
    """Events a killed process had claimed are due again when a worker starts, long before the lease ends."""
    crm, clock = FakeCrm.seeded(5), SettableClock(T0)
    ids = enqueue(store, crm, 3)
    assert claim_in_a_process_then_kill_it(store) == 3
    worker, _ = worker_for(
        crm, store, clock, lease=LEASE, owner=f"{socket.gethostname()}:{os.getpid()}:serve"
    )
    assert worker.drain_once() == 0, "leased to the killed process: nothing is due yet"

    stop, wake = threading.Event(), threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop, wake))
    runner.start()
    deadline = time.monotonic() + 30  # a bound for a broken worker only; the lease is 5 minutes
    while store.queue.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    wake.set()
    runner.join(10)
    assert store.queue.pending() == 0
    assert sorted(crm.written_ids()) == ids


def test_claims_of_a_live_worker_or_another_host_are_left_alone(store: Store) -> None:
    """Only an owner process that is gone from this host loses its claims; the lease protects the others."""
    crm = FakeCrm.seeded(5)
    enqueue(store, crm, 2)
    alive = f"{socket.gethostname()}:{os.getpid()}:serve"
    store.queue.claim(now=T0, limit=1, lease=LEASE, owner=alive)
    store.queue.claim(now=T0, limit=1, lease=LEASE, owner="another-host:1:serve")
    assert store.queue.release_abandoned(now=T0, gone=owner_gone) == 0
    assert store.queue.claim(now=T0, limit=10, lease=LEASE) == []


def test_while_a_worker_works_on_an_event_the_store_names_it_as_the_claimer(store: Store) -> None:
    """The worker records who claimed (a claim with no owner could never be freed early) and clears it after."""
    crm, clock = FakeCrm.seeded(2), SettableClock(T0)
    enqueue(store, crm, 1)
    seen: list[str | None] = []
    read = crm.read

    def read_and_look(object_type: str, ids: Sequence[str]) -> Any:
        with store.engine.connect() as db:
            seen.extend(db.execute(select(events.c.claimed_by)).scalars())
        return read(object_type, ids)

    crm.read = read_and_look  # type: ignore[method-assign]
    worker, _ = worker_for(crm, store, clock, lease=LEASE, owner="h:1:serve")
    assert worker.drain_once() == 1
    assert seen == ["h:1:serve"]
    with store.engine.connect() as db:
        assert list(db.execute(select(events.c.claimed_by)).scalars()) == [None]
