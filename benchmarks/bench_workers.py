"""Benchmark ``lawful-crm worker`` processes on a PostgreSQL store with 1 and with 2 workers.

Prints one JSON object. Needs the PostgreSQL at ``LAWFUL_CRM_TEST_POSTGRES_URL`` (default: the local test
server); each measurement uses a schema of its own, dropped afterwards. A HubSpot sandbox with rate limits off
runs in this process.

* ``drain``: ``--events`` change events are committed to the store's queue at ``--rate`` per second, as
  ``serve`` commits deliveries, over ``--contacts`` contacts. Figures: events settled per second (first receipt
  to last event done) and the receipt-to-decision latency of each record (its event's ``received_at`` to the
  audit entry's ``decided_at``), p50 and p99.
* ``sync``: a full sync of ``--sync-contacts`` contacts as the nightly job in 4 shards; wall time from deferring
  it to the last shard done.

Usage: ``python benchmarks/bench_workers.py [--events 5000 --rate 1000 --contacts 5000 --sync-contacts 20000]
[--phases drain,sync] [--workers 1,2] [--out results.json]``; ``--out`` is rewritten after every measurement,
so a long run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sandbox_process import LAWFUL_CRM
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from connector.crm.hubspot import HubSpotCrm
from connector.jobs.tasks import NIGHTLY, job_app
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig
from connector.store import NewEvent, Store, open_store
from connector.store.tables import decisions, events, runs
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot

SERVER = os.environ.get("LAWFUL_CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEY = "5e" * 32


@contextmanager
def schema() -> Iterator[str]:
    """A fresh schema on the server; its URL (search path set) for the whole block."""
    name = f"lawful_crm_bench_{secrets.token_hex(4)}"
    admin = create_engine(SERVER)
    with admin.begin() as db:
        db.execute(text(f"CREATE SCHEMA {name}"))
    url = make_url(SERVER).render_as_string(hide_password=False)
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as db:
            db.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@contextmanager
def workers(hs: HubSpotSandbox, url: str, folder: Path, count: int, sync_shards: int = 1) -> Iterator[None]:
    config = folder / "lawful-crm.toml"
    config.write_text(
        f'[hubspot]\nbase_url = "{hs.base_url}"\naccess_token = "{hs.token}"\nper_ten_seconds = 100000\n\n'
        f'[store]\nurl = "{url}"\n\n[webhooks]\nworker_batch = 100\n',
        encoding="utf-8",
    )
    env = {**os.environ, "LAWFUL_CRM_DNC_KEY": KEY}
    with ExitStack() as stack:
        started = []
        for number in range(count):
            log = stack.enter_context((folder / f"worker{number}.log").open("wb"))
            command = [LAWFUL_CRM, "worker", "--config", str(config), "--concurrency", "2"]
            command += ["--sync-shards", str(sync_shards)]
            started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
        try:
            deadline = time.monotonic() + 90
            while sum("worker started" in p.read_text() for p in folder.glob("worker*.log")) < count:
                if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                    raise RuntimeError("a worker did not start")
                time.sleep(0.2)
            yield
        finally:
            for process in started:
                process.terminate()
            for process in started:
                process.wait(timeout=60)


@contextmanager
def portal(contacts: int) -> Iterator[tuple[HubSpotSandbox, str, Path, Store]]:
    """A HubSpot portal with the connector's properties, a fresh PostgreSQL schema as the store (open) and a
    folder for the workers' configuration and logs; the store is closed at the end."""
    with (
        running_hubspot(contacts=contacts, seed=7, per_ten_seconds=None, search_per_second=None) as hs,
        schema() as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        config = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token))
        HubSpotCrm.from_config(config, load_mapping("hubspot")).install(dry_run=False, uninstall=False)
        store = open_store(url)
        try:
            yield hs, url, Path(folder), store
        finally:
            store.close()


def drain(worker_count: int, *, events_n: int, rate: float, contacts: int) -> dict[str, Any]:
    with portal(contacts) as (hs, url, folder, store):
        ids = [hs.state.store.contact_id(i % contacts) for i in range(events_n)]
        with workers(hs, url, folder, worker_count):
            first, sent = time.monotonic(), 0
            while sent < events_n:  # group commits every 20 ms, as serve's receiver makes them
                time.sleep(0.02)
                due = min(int((time.monotonic() - first) * rate), events_n)
                batch = [NewEvent(f"{i}:{ids[i]}", "contacts", ids[i], "change") for i in range(sent, due)]
                store.queue.enqueue("hubspot", batch, now=datetime.now(UTC))
                sent = due
            offered_s = time.monotonic() - first
            settled_s = _wait_settled(store, events_n, first)
        figures = {
            "workers": worker_count,
            "events": events_n,
            "rate_per_s": rate,
            "offered_s": round(offered_s, 2),
        }
        figures |= {"events_per_s": round(events_n / settled_s, 1), "settled_s": round(settled_s, 2)}
        figures |= _latency(store)
        return figures


def _wait_settled(store: Store, expected: int, first: float) -> float:
    while True:
        with store.engine.connect() as db:
            done = db.execute(select(func.count()).where(events.c.status == "done")).scalar_one()
        if done >= expected:
            return time.monotonic() - first
        time.sleep(0.1)


def _latency(store: Store) -> dict[str, float]:
    """Receipt of each record's last event to the audit entry that decided it (seconds)."""
    with store.engine.connect() as db:
        received = dict(
            db.execute(
                select(events.c.record_id, func.max(events.c.received_at)).group_by(events.c.record_id)
            ).all()
        )
        decided = db.execute(select(decisions.c.record_id, decisions.c.decided_at)).all()
    waits = sorted(
        (row.decided_at - received[row.record_id]).total_seconds()
        for row in decided
        if row.record_id in received and row.decided_at >= received[row.record_id]
    )
    if not waits:
        return {}
    return {
        "receipt_to_decision_p50_s": round(statistics.median(waits), 3),
        "receipt_to_decision_p99_s": round(waits[int(len(waits) * 0.99) - 1], 3),
    }


def sharded_sync(
    worker_count: int, *, contacts: int, shards: int = 4, give_up_s: float | None = None
) -> dict[str, Any]:
    """The nightly full sync in ``shards``; after ``give_up_s`` the run is reported unfinished, with the
    shards done and the CRM calls made so far (a shard writes its decisions only after reading its records)."""
    with portal(contacts) as (hs, url, folder, store):
        with workers(hs, url, folder, worker_count, sync_shards=shards):
            app = job_app(url)
            started = time.monotonic()
            with app.open():
                app.configure_task(NIGHTLY).defer(timestamp=int(time.time()))
            while True:
                with store.engine.connect() as db:
                    done = db.execute(
                        select(func.count()).where(runs.c.kind == "shard", runs.c.outcome == "completed")
                    ).scalar_one()
                if done >= shards or (give_up_s is not None and time.monotonic() - started > give_up_s):
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            finished, calls = done >= shards, sum(hs.state.calls.values())
        with store.engine.connect() as db:
            written = db.execute(select(func.count()).select_from(decisions)).scalar_one()
        return {"workers": worker_count, "contacts": contacts, "shards": shards, "seconds": round(elapsed, 1),
                "decisions": int(written), "finished": finished, "shards_done": int(done), "api_calls": calls}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--sync-contacts", type=int, default=20000)
    parser.add_argument("--phases", default="drain,sync", help="comma-separated: drain, sync")
    parser.add_argument("--workers", default="1,2", help="worker process counts, comma-separated")
    parser.add_argument("--out", type=Path, help="also write the JSON here after every measurement")
    parser.add_argument(
        "--give-up-s", type=float, help="report a sync still running after this long as unfinished"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    result: dict[str, list[dict[str, Any]]] = {}
    for phase in args.phases.split(","):
        for n in counts:
            if phase == "drain":
                figures = drain(n, events_n=args.events, rate=args.rate, contacts=args.contacts)
            elif phase == "sync":
                figures = sharded_sync(n, contacts=args.sync_contacts, give_up_s=args.give_up_s)
            else:
                parser.error(f"unknown phase {phase!r}")
            result.setdefault(phase, []).append(figures)
            if args.out is not None:
                args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
