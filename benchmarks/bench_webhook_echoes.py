"""Benchmark the Salesforce Outbound Message backlog after a large write-back, with and without echo dropping.

Prints one JSON object. A Salesforce sandbox (``--contacts`` records, 20,000 by default) sends an Outbound
Message notification for every Contact and Lead change to a real ``lawful-crm serve`` (receiver, worker and
store in one process, SQLite). ``lawful-crm sync --full`` then writes the flags of every record: each write
comes back as a notification whose ``LastModifiedById`` is the integration user. Measured twice, on a fresh
sandbox and store each time: ``before`` without ``[salesforce] integration_user_id`` (every echo is queued and
decided again by the worker), ``after`` with it (echoes are acknowledged and dropped at intake).

Figures per phase: notifications received, events queued (the backlog), echoes dropped, the peak of pending
events, and ``drain_s``: from the end of the write-back until the queue is empty — how long a real edit made
right after it waits behind the echoes (``pending_when_given_up`` instead, when the queue is still not empty
after ``--give-up-s``).

Usage: ``python benchmarks/bench_webhook_echoes.py [--contacts 20000] [--phases before,after] [--give-up-s 1800]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from sandbox_process import LAWFUL_CRM, adapter, peak_rss_mb, running_sandbox, serving

from connector.store import open_store
from crm_sandbox.salesforce.state import ORG_ID

PATH_SECRET = "bench-outbound-path-secret-0123"
GIVE_UP_S = 1800.0
"""How long after the write-back a phase waits for the queue to empty; a backlog still there is reported."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _integration_user(sf: dict[str, Any]) -> str:
    """The user the sandbox token writes as (Chatter ``users/me``)."""
    url = f"{sf['instance_url'].rstrip('/')}/services/data/v59.0/chatter/users/me"
    response = requests.get(url, headers={"Authorization": f"Bearer {sf['token']}"}, timeout=60)
    response.raise_for_status()
    return str(response.json()["id"])


def _config(directory: Path, sf: dict[str, Any], *, integration_user: str | None) -> Path:
    """serve's and sync's configuration; a long call timeout, since the one emulator process answers the
    write-back, the worker's reads and sends the Outbound Messages at once."""
    user = f'integration_user_id = "{integration_user}"\n' if integration_user else ""
    path = directory / "lawful-crm.toml"
    path.write_text(
        f"""
[salesforce]
auth = "session"
session_id = "{sf["token"]}"
instance_url = "{sf["instance_url"]}"
org_id = "{ORG_ID}"
timeout_s = 300
{user}
[store]
url = "sqlite:///{directory / "lawful-crm.db"}"

[webhooks]
salesforce_path_secret = "{PATH_SECRET}"
""",
        encoding="utf-8",
    )
    return path


def _metrics(port: int) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
    wanted = {
        "received": r'lawful_crm_webhook_events_received_total\{crm="salesforce"\} (\S+)',
        "queued": r'lawful_crm_webhook_events_queued_total\{crm="salesforce"\} (\S+)',
        "dropped_echoes": r'lawful_crm_webhook_events_ignored_total\{crm="salesforce",reason="own_change"\} (\S+)',
    }
    return {name: float(found.group(1)) if (found := re.search(pattern, text)) else 0.0
            for name, pattern in wanted.items()}  # fmt: skip


def phase(contacts: int, *, drop_echoes: bool, give_up_s: float = GIVE_UP_S) -> dict[str, Any]:
    """One write-back of every record on a fresh sandbox and store, with serve receiving its echoes."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/webhooks/salesforce/{PATH_SECRET}"
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(contacts, webhook_url=url) as info:
        sf = info["salesforce"]
        adapter("salesforce", info).install(dry_run=False, uninstall=False)
        user = _integration_user(sf) if drop_echoes else None
        config = _config(Path(tmp), sf, integration_user=user)
        with serving(config, port):
            store = open_store(f"sqlite:///{Path(tmp) / 'lawful-crm.db'}", migrate=False)
            started = time.monotonic()
            sync = subprocess.run(
                [LAWFUL_CRM, "sync", "--crm", "salesforce", "--full", "--accept-large-change", "--config",
                 str(config)], capture_output=True, text=True, check=False,
            )  # fmt: skip
            written_at = time.monotonic()
            if sync.returncode not in (0, 1):
                raise RuntimeError(f"sync failed ({sync.returncode}): {sync.stdout[-500:]}")
            (write_back,) = [run for run in store.runs.recent("salesforce", limit=100) if run.kind == "full"]
            written = int(write_back.counts.get("written", 0))
            peak, emptied_at, deadline = 0, None, time.monotonic() + give_up_s
            while time.monotonic() < deadline:  # every write's notification in, then the queue empty
                pending, now = store.queue.pending(), time.monotonic()
                peak = max(peak, pending)
                emptied_at = None if pending else (emptied_at or now)
                if emptied_at is not None and _metrics(port)["received"] >= written:
                    break
                time.sleep(0.1)
            figures = _metrics(port)
            still_pending = store.queue.pending()
            store.close()
    return {
        "records_written": written,
        "write_back_s": round(written_at - started, 1),
        "notifications_received": int(figures["received"]),
        "events_queued": int(figures["queued"]),
        "echoes_dropped": int(figures["dropped_echoes"]),
        "peak_pending": peak,
        "drain_s": None if emptied_at is None else round(max(emptied_at - written_at, 0.0), 1),
        "pending_when_given_up": None if emptied_at is not None else still_pending,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--phases", default="before,after", help="before, after or both (comma-separated)")
    parser.add_argument(
        "--give-up-s", type=float, default=GIVE_UP_S, help="longest wait for the queue to empty"
    )
    args = parser.parse_args()
    figures: dict[str, Any] = {"tool": "lawful-crm", "contacts": args.contacts,
                               "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    for name in args.phases.split(","):
        figures[name] = phase(args.contacts, drop_echoes=name == "after", give_up_s=args.give_up_s)
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
