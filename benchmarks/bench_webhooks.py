"""Benchmark the webhook path of ``lawful-crm serve``: acknowledgement latency, throughput, event-to-flag latency.

Prints one JSON object. A real ``lawful-crm serve`` process (receiver + worker + scheduler, SQLite store) runs
against a HubSpot sandbox in a third process, so the emulator's work never stalls the load generator. A
``lawful-crm sync --full`` first decides 3,000 of its 8,000 contacts (the state an admin starts webhooks from).
An open-loop load generator sends v3-signed HubSpot deliveries over keep-alive connections on 127.0.0.1 at a
fixed rate; a request's latency counts from its scheduled time, so a late client or a full connection pool
counts against the server and never hides a stall.

Phases: 200 and 1,000 events/s as single-event requests (the hardest case for the receiver), and 1,000
events/s in HubSpot-style batches of 10 and 100; all name already-decided contacts (the worker reads and
decides each again; nothing changes, nothing is written). A last phase floods the worker with first decisions
(contacts never decided: every event costs a write and a new audit entry). During each phase a salesperson
objects to being called on a decided contact every 250 ms, timed until ``do_not_cold_call`` is written back
(event-to-flag latency under load). After each phase the queue must drain with every accepted event settled:
``lost`` counts events acknowledged but not settled, ``refused`` non-200 answers.

Usage: ``python benchmarks/bench_webhooks.py [--seconds 5] [--connections 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from sandbox_process import LAWFUL_CRM, UNLIMITED, adapter, hubspot_limits, running_sandbox, serving
from sqlalchemy import func, select

from connector.store import Store, open_store
from connector.store.tables import events
from connector.webhooks.signatures import hubspot_v3_signature
from crm_sandbox.hubspot.store import CONTACT_ID_BASE

CONTACTS = 8000
DECIDED = 3000
"""Contacts decided by the initial sync (indexes below); the rest have never been decided."""
DECIDED_POOL = range(0, DECIDED)
FRESH_POOL = range(DECIDED, CONTACTS)
EVENT_ID_BASE = 9_000_000_000_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class Client:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: fast enough not to be the bottleneck."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.size = host, port, connections
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        reader, writer = await self.pool.get()
        try:
            lines = [
                f"POST {path} HTTP/1.1",
                f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(body)}",
            ]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            return status
        finally:
            self.pool.put_nowait((reader, writer))

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()


class Load:
    """Signed HubSpot deliveries at a fixed rate; one batch = ``batch`` property-change events."""

    def __init__(self, url: str, secret: str, first_event_id: int, pool: range = DECIDED_POOL) -> None:
        self.url, self.secret, self.pool = url, secret, pool
        self.path = "/webhooks/hubspot"
        self.next_id = first_event_id
        self.sent = 0

    def body(self, batch: int) -> bytes:
        now = int(time.time() * 1000)
        items = []
        for _ in range(batch):
            index = self.pool[self.next_id % len(self.pool)]
            items.append({
                "eventId": self.next_id, "subscriptionId": 25, "portalId": 9_001_234, "appId": 1_160_452,
                "occurredAt": now, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
                "objectId": 1001 + index, "propertyName": "lifecyclestage", "propertyValue": "lead",
                "changeSource": "CRM_UI", "sourceId": "userId:45678",
            })  # fmt: skip
            self.next_id += 1
        self.sent += batch
        return json.dumps(items, separators=(",", ":")).encode()

    def headers(self, body: bytes) -> dict[str, str]:
        stamp = str(int(time.time() * 1000))
        signature = hubspot_v3_signature(self.secret, method="POST", uri=self.url, body=body, timestamp=stamp)
        return {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": stamp,
        }

    async def run(self, client: Client, *, events_per_s: int, batch: int, seconds: float) -> dict[str, Any]:
        requests_per_s = events_per_s / batch
        total = int(requests_per_s * seconds)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lag: list[float] = []
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05

        async def one(scheduled: float) -> None:
            body = self.body(batch)
            status = await client.post(self.path, body, self.headers(body))
            latencies.append(loop.time() - scheduled)
            statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        for i in range(total):
            scheduled = start + i / requests_per_s
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append(max(0.0, loop.time() - scheduled))
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
        return {
            "events_per_s_target": events_per_s,
            "events_per_batch": batch,
            "requests": total,
            "events": total * batch,
            "throughput_events_per_s": round(total * batch / elapsed, 1),
            "ack_ms": {
                "p50": _ms(statistics.median(latencies)),
                "p90": _ms(_percentile(latencies, 0.90)),
                "p99": _ms(_percentile(latencies, 0.99)),
                "max": _ms(max(latencies)),
            },
            "client_send_lag_ms_p99": _ms(_percentile(lag, 0.99)),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
        }


class Editor(threading.Thread):
    """Every ``interval`` s a decided contact objects to calls; each edit is timed until the flag is written.

    Edits and reads go through the sandbox's admin API (as a salesperson's UI edit; no API quota)."""

    def __init__(self, base_url: str, candidates: Iterator[str], interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.base_url, self.candidates, self.interval = base_url, candidates, interval
        self.http = requests.Session()
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.timeouts = 0

    def flag(self, contact_id: str) -> Any:
        return _record(self.http, self.base_url, contact_id)["properties"].get("do_not_cold_call")

    def run(self) -> None:
        while not self.stop.is_set():
            contact_id = next(self.candidates)
            started = time.perf_counter()
            body = {"properties": {"objection_date": time.strftime("%Y-%m-%d")}}
            self.http.post(f"{self.base_url}/__sandbox/records/contacts/{contact_id}", json=body, timeout=30)
            while self.flag(contact_id) != "true":
                if time.perf_counter() - started > 10:
                    self.timeouts += 1
                    break
                time.sleep(0.01)  # polled over HTTP: every read is work for the emulator
            else:
                self.latencies.append(time.perf_counter() - started)
            self.stop.wait(self.interval)

    def summary(self) -> dict[str, Any]:
        values = self.latencies or [float("nan")]
        return {
            "edits": len(self.latencies) + self.timeouts,
            "p50_ms": _ms(statistics.median(values)),
            "p99_ms": _ms(_percentile(values, 0.99)),
            "max_ms": _ms(max(values)),
            "over_10_s": self.timeouts,
        }


def _record(http: requests.Session, base_url: str, contact_id: str) -> dict[str, Any]:
    response = http.get(f"{base_url}/__sandbox/records/contacts/{contact_id}", timeout=30)
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def _callable_contacts(base_url: str) -> Iterator[str]:
    """Decided contacts that may be called (``do_not_cold_call`` false): an objection must flip them."""
    http = requests.Session()
    for index in DECIDED_POOL:
        contact_id = str(CONTACT_ID_BASE + index)
        if _record(http, base_url, contact_id)["properties"].get("do_not_cold_call") == "false":
            yield contact_id


def _webhooks_idle(base_url: str, timeout: float = 120) -> bool:
    """Wait until the sandbox has delivered (or given up) every webhook it queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{base_url}/__sandbox/stats", timeout=30).json()["webhooks"]["idle"]:
            return True
        time.sleep(0.05)
    return False


def _config(path: Path, hs: dict[str, Any], store_url: str) -> None:
    path.write_text(
        f"""
[hubspot]
base_url = "{hs["base_url"]}"
access_token = "{hs["token"]}"
client_secret = "{hs["webhook_secret"]}"
app_id = {hs["app_id"]}
per_ten_seconds = 10000
search_per_second = 1000

[store]
url = "{store_url}"
""",
        encoding="utf-8",
    )


def _settled(store: Store) -> dict[str, int]:
    query = (
        select(events.c.status, func.count())
        .where(events.c.dedupe_key.like("9%"), func.length(events.c.dedupe_key) > 14)
        .group_by(events.c.status)
    )
    with store.engine.connect() as db:
        return {str(row[0]): int(row[1]) for row in db.execute(query)}


def _wait_drained(store: Store, timeout: float = 120) -> float:
    started = time.perf_counter()
    while store.queue.pending() and time.perf_counter() - started < timeout:
        time.sleep(0.05)
    return round(time.perf_counter() - started, 2)


async def _phases(url: str, port: int, secret: str, store: Store, base_url: str, args: Any) -> list[Any]:
    load = Load(url, secret, EVENT_ID_BASE)
    client = Client("127.0.0.1", port, args.connections)
    await client.open()
    await load.run(client, events_per_s=100, batch=1, seconds=1.0)  # warm-up
    await asyncio.to_thread(_wait_drained, store)
    candidates = _callable_contacts(base_url)
    results = []
    plan = [(200, 1, DECIDED_POOL), (1000, 1, DECIDED_POOL), (1000, 10, DECIDED_POOL), (1000, 100, DECIDED_POOL),
            (1000, 10, FRESH_POOL)]  # fmt: skip
    for events_per_s, batch, pool in plan:
        load.pool = pool
        before = load.sent
        settled_before = _settled(store).get("done", 0)
        editor = Editor(base_url, candidates)
        editor.start()
        result = await load.run(client, events_per_s=events_per_s, batch=batch, seconds=args.seconds)
        editor.stop.set()
        await asyncio.to_thread(editor.join)
        result["contacts"] = "first decisions" if pool is FRESH_POOL else "already decided"
        result["queue_drained_after_s"] = await asyncio.to_thread(_wait_drained, store)
        settled = _settled(store)
        accepted = result["statuses"].get("200", 0) * batch
        result["lost"] = accepted - (settled.get("done", 0) - settled_before)
        result["refused"] = result["requests"] - result["statuses"].get("200", 0)
        result["dead"] = settled.get("dead", 0)
        result["event_to_flag_under_load"] = editor.summary()
        assert load.sent - before == result["events"]
        results.append(result)
    await client.close()
    return results


def _initial_sync(config: Path) -> float:
    """``lawful-crm sync --full`` over the first DECIDED contacts, as an admin runs it before webhooks."""
    started = time.perf_counter()
    command = [
        LAWFUL_CRM,
        "sync",
        "--crm",
        "hubspot",
        "--full",
        "--limit",
        str(DECIDED),
        "--config",
        str(config),
    ]
    subprocess.run(command, check=False, capture_output=True)
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="Duration of each load phase.")
    parser.add_argument(
        "--connections", type=int, default=10, help="Keep-alive connections (HubSpot uses ≤10)."
    )
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/webhooks/hubspot"
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(CONTACTS, seed=7, webhook_url=url) as info:
        hs = info["hubspot"]
        hubspot_limits(info, per_ten_seconds=None)
        adapter("hubspot", info, per_ten_seconds=UNLIMITED).install(dry_run=False, uninstall=False)
        store_url = f"sqlite:///{Path(tmp) / 'store.db'}"
        config_file = Path(tmp) / "lawful-crm.toml"
        _config(config_file, hs, store_url)
        store = open_store(store_url)
        with serving(config_file, port, stop_wait_s=30):
            sync_s = _initial_sync(config_file)  # its write-backs' echoes reach the running receiver
            assert _webhooks_idle(hs["base_url"])
            phases = asyncio.run(_phases(url, port, hs["webhook_secret"], store, hs["base_url"], args))
        store.close()
    summary = {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0], "initial_sync_s": sync_s}
    print(json.dumps({**summary, "seconds_per_phase": args.seconds, "phases": phases}))


if __name__ == "__main__":
    main()
