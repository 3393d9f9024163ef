"""``lawful-crm worker`` processes on a real PostgreSQL store against the HubSpot sandbox's 100-per-10 s limit:
two workers drain a backlog together without a refused call, a worker killed mid-drain loses and repeats
nothing, a nightly sync in four shards on two workers writes what a serial full sync writes, and the periodic
sweep fires once however many workers run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.mapping.own_fields import field_names
from connector.policy import PolicySettings
from connector.settings import HubSpotConfig
from connector.store import NewEvent, Store, open_store
from connector.store.tables import decisions, events, runs
from connector.sync.pipeline import Pipeline
from connector.sync.run import Outcome, SyncOptions, run_sync
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from tests.conftest import NOW
from tests.dnc_keys import TEST_KEY_HEX

pytest.importorskip("procrastinate")

LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))
MAPPING = load_mapping("hubspot")
LIMIT = 100
CONTACTS = 400


@dataclass
class World:
    hubspot: HubSpotSandbox
    store: Store
    config: Path
    logs: Path


@pytest.fixture
def world(postgres_schema_url: str, tmp_path: Path) -> Iterator[World]:
    with running_hubspot(contacts=CONTACTS, seed=21, per_ten_seconds=LIMIT, search_per_second=None) as hs:
        hubspot = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token))
        assert HubSpotCrm.from_config(hubspot, MAPPING).install(dry_run=False, uninstall=False)
        config = tmp_path / "lawful-crm.toml"
        config.write_text(
            f"""
[hubspot]
base_url = "{hs.base_url}"
access_token = "{hs.token}"
per_ten_seconds = {LIMIT}

[store]
url = "{postgres_schema_url}"

[webhooks]
worker_batch = 10
lease_s = 10
""",
            encoding="utf-8",
        )
        store = open_store(postgres_schema_url)
        try:
            yield World(hs, store, config, tmp_path)
        finally:
            store.close()


@contextmanager
def workers(
    world: World, count: int, *, concurrency: int = 2, sync_shards: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` worker processes (stopped with SIGTERM, or already killed, at the end)."""
    env = {**os.environ, "LAWFUL_CRM_DNC_KEY": TEST_KEY_HEX, "PYTHONUNBUFFERED": "1"}
    with ExitStack() as stack:
        started = []
        for number in range(count):
            log = stack.enter_context((world.logs / f"worker{number}.log").open("wb"))
            command = [LAWFUL_CRM, "worker", "--config", str(world.config), "--concurrency", str(concurrency)]
            command += ["--shards", "4", "--stalled-after", "3", "--as-of", NOW.isoformat()]
            command += ["--sync-shards", str(sync_shards)]
            started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
        try:
            yield started
        finally:
            for process in started:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in started:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def enqueue_every_contact(world: World) -> list[str]:
    """Two change events per contact (an edit and its redelivery under another key), as webhooks would."""
    ids = [world.hubspot.state.store.contact_id(i) for i in range(CONTACTS)]
    new = [
        NewEvent(f"{n}:{i}", "contacts", record_id, "change")
        for n in (1, 2)
        for i, record_id in enumerate(ids)
    ]
    world.store.queue.enqueue("hubspot", new, now=datetime.now(UTC))
    return ids


def settled(
    world: World, running: list[subprocess.Popen[bytes]], *, timeout_s: float, until: float = 1.0
) -> None:
    """Wait until every event is done (or ``until`` of them, as a share) while a worker runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(process.poll() is not None for process in running):
            logs = "".join(path.read_text() for path in sorted(world.logs.glob("worker*.log")))
            raise AssertionError(f"every worker stopped:\n{logs[-3000:]}")
        with world.store.engine.connect() as db:
            counts = dict(db.execute(select(events.c.status, func.count()).group_by(events.c.status)).all())
        total = sum(counts.values())
        if total and counts.get("done", 0) >= total * until:
            return
        time.sleep(0.2)
    raise AssertionError(f"events not settled in {timeout_s} s: {counts}")


def busiest_window(world: World) -> int:
    """The most calls the sandbox answered in any 10-second window."""
    times = sorted(r.at for r in list(world.hubspot.state.requests))
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 10.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def assert_every_record_holds_its_decision(world: World, ids: list[str]) -> None:
    config = HubSpotConfig(base_url=world.hubspot.base_url, access_token=SecretStr(world.hubspot.token))
    crm = HubSpotCrm.from_config(config, MAPPING)
    records = [r for start in range(0, len(ids), 100) for r in crm.read("contacts", ids[start : start + 100])]
    pipeline = Pipeline(crm, CompiledMapping(MAPPING), PolicySettings(), world.store)
    decided = pipeline.decide(records, today=NOW, now=datetime.now(UTC))
    assert len(decided) == len(ids)
    assert [d.record.id for d in decided if d.plan.update is not None] == []


def audit_entries_per_record(world: World) -> Counter[str]:
    with world.store.engine.connect() as db:
        rows = db.execute(select(decisions.c.record_id, decisions.c.write_status)).all()
    return Counter(row.record_id for row in rows if row.write_status == "written")


def test_two_workers_drain_a_backlog_together_under_the_shared_limit(world: World) -> None:
    """Two worker processes settle every event once in effect, never above the account's limit, with no 429."""
    ids = enqueue_every_contact(world)
    with workers(world, 2) as running:
        settled(world, running, timeout_s=120)
    statuses = Counter(r.status for r in list(world.hubspot.state.requests))
    assert statuses[429] == 0, statuses
    assert busiest_window(world) <= LIMIT
    assert_every_record_holds_its_decision(world, ids)
    written = audit_entries_per_record(world)
    assert max(written.values()) == 1, "no record's flags were written twice"
    for log in world.logs.glob("worker*.log"):
        assert "hubspot shard" in log.read_text(), f"{log.name} drained a share of the events"


def test_a_worker_killed_mid_drain_loses_and_repeats_nothing(world: World) -> None:
    """SIGKILL of one of two workers mid-drain: the other (after the lease) settles every event, each
    record's flags written once, and the CRM ends as a single worker would leave it."""
    ids = enqueue_every_contact(world)
    with workers(world, 2) as running:
        settled(world, running, timeout_s=120, until=0.3)
        running[0].send_signal(signal.SIGKILL)
        running[0].wait(timeout=10)
        settled(world, running[1:], timeout_s=180)
    with world.store.engine.connect() as db:
        assert db.execute(select(func.count()).where(events.c.status != "done")).scalar_one() == 0
    assert_every_record_holds_its_decision(world, ids)
    written = audit_entries_per_record(world)
    assert max(written.values()) == 1, "no duplicated audit entry"
    assert Counter(r.status for r in list(world.hubspot.state.requests))[429] == 0


def own_values(sandbox: HubSpotSandbox) -> dict[str, dict[str, object]]:
    """Every contact's values of the connector's own fields, but the time it was checked (which differs)."""
    names = [name for role, name in field_names(MAPPING.writeback).items() if role != "checked"]
    state = sandbox.state.store
    return {
        state.contact_id(i): {name: state.properties(i).get(name) for name in names} for i in range(CONTACTS)
    }


def test_a_four_shard_sync_on_two_workers_leaves_the_crm_as_a_serial_full_sync(
    world: World, tmp_path: Path
) -> None:
    """The nightly sync in 4 shards, run by 2 workers, writes exactly what one serial full sync writes on an
    identical portal, and each shard runs once."""
    with running_hubspot(contacts=CONTACTS, seed=21, per_ten_seconds=None, search_per_second=None) as twin:
        config = HubSpotConfig(
            base_url=twin.base_url, access_token=SecretStr(twin.token), per_ten_seconds=1000
        )
        serial = HubSpotCrm.from_config(config, MAPPING)
        assert serial.install(dry_run=False, uninstall=False)
        store = open_store(f"sqlite:///{tmp_path / 'serial.db'}")
        result = run_sync(
            serial, CompiledMapping(MAPPING), PolicySettings(), store, SyncOptions(full=True), today=NOW
        )
        store.close()
        assert result.outcome is Outcome.COMPLETED and result.tally.written > 0
        expected = own_values(twin)
    assert own_values(world.hubspot) != expected, "the sharded run has work to do"
    from connector.jobs.tasks import NIGHTLY, job_app  # the postgres extra (procrastinate)

    app = job_app(world.store.engine.url.render_as_string(hide_password=False))
    with workers(world, 2, sync_shards=4) as running:
        deadline = time.monotonic() + 60
        while "job queue" not in "".join(p.read_text() for p in world.logs.glob("worker*.log")):
            assert time.monotonic() < deadline and all(p.poll() is None for p in running)
            time.sleep(0.2)
        with app.open():
            app.configure_task(NIGHTLY).defer(timestamp=int(time.time()))
        shards_done(world, running, count=4, timeout_s=120)
    assert own_values(world.hubspot) == expected
    logs = "".join(p.read_text() for p in world.logs.glob("worker*.log"))
    assert sorted(re.findall(r"contacts shard (\d)/4: completed", logs)) == ["0", "1", "2", "3"]


def test_the_nightly_sync_runs_once_with_two_workers(world: World) -> None:
    """The nightly job fired with two workers running defers one sync of the CRM, run by one of them."""
    from connector.jobs.tasks import NIGHTLY, job_app  # the postgres extra (procrastinate)

    app = job_app(world.store.engine.url.render_as_string(hide_password=False))
    with workers(world, 2) as running:
        deadline = time.monotonic() + 60
        while "job queue" not in "".join(p.read_text() for p in world.logs.glob("worker*.log")):
            assert time.monotonic() < deadline and all(p.poll() is None for p in running)
            time.sleep(0.2)
        with app.open():
            app.configure_task(NIGHTLY).defer(timestamp=int(time.time()))
        deadline = time.monotonic() + 120
        while True:
            with world.store.engine.connect() as db:
                finished = db.execute(
                    select(runs.c.kind, runs.c.outcome).where(runs.c.finished_at.is_not(None))
                ).all()
            if finished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(2)  # a second sync, if one were deferred, would start now
    with world.store.engine.connect() as db:
        syncs = db.execute(select(runs.c.kind, runs.c.outcome)).all()
    assert [(row.kind, row.outcome) for row in syncs] == [("full", "completed")]
    assert_every_record_holds_its_decision(
        world, [world.hubspot.state.store.contact_id(i) for i in range(CONTACTS)]
    )


def shards_done(
    world: World, running: list[subprocess.Popen[bytes]], *, count: int, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert any(process.poll() is None for process in running), "every worker stopped"
        with world.store.engine.connect() as db:
            done = db.execute(
                select(func.count()).where(runs.c.kind == "shard", runs.c.outcome == "completed")
            ).scalar_one()
        if done >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{count} shards not done in {timeout_s} s")


def sweeps(world: World) -> Counter[str]:
    """How many times each tick of the sweep ran, over every worker's log."""
    logs = [log.read_text() for log in world.logs.glob("worker*.log")]
    return Counter(tick for text in logs for tick in re.findall(r"sweep of (\d+)", text))


def test_the_sweep_fires_once_per_tick_with_two_workers(world: World) -> None:
    """The periodic sweep runs once per tick across two workers (procrastinate's periodic defer), not twice."""
    with workers(world, 2) as running:
        deadline = time.monotonic() + 90
        while len(sweeps(world)) < 4 and time.monotonic() < deadline:
            assert all(process.poll() is None for process in running)
            time.sleep(0.5)
        time.sleep(5)  # both workers run through more ticks
    ticks = sweeps(world)
    assert len(ticks) >= 4, "the sweep ran"
    assert set(ticks.values()) == {1}, ticks
