"""``lawful-crm serve`` as a real process: acknowledged events survive SIGKILL, redeliveries after the restart are
absorbed, each event is then processed exactly once, and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from connector.mapping.facts import CompiledMapping
from connector.mapping.load import load_mapping
from connector.policy import PolicySettings
from connector.store import open_store
from connector.sync.pipeline import Pipeline
from connector.webhooks.metrics import Metrics
from connector.webhooks.outbound import ACK
from connector.webhooks.worker import Worker
from tests.fakes import FakeCrm
from tests.integration.test_webhook_receiver import (
    ORG,
    PATH_SECRET,
    SIGNING_SECRET,
    outbound_body,
    post_signed,
)

LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))


def write_config(path: Path, store: Path, *, run_worker: bool) -> Path:
    path.write_text(
        f"""
[salesforce]
auth = "session"
session_id = "unused-token"
instance_url = "http://127.0.0.1:9"
org_id = "{ORG}"

[store]
url = "sqlite:///{store}"

[webhooks]
salesforce_path_secret = "{PATH_SECRET}"
salesforce_signing_secret = "{SIGNING_SECRET}"
run_worker = {str(run_worker).lower()}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Serving:
    process: subprocess.Popen[str]
    base: str
    log: list[str]


@contextmanager
def serving(config: Path) -> Iterator[Serving]:
    process = subprocess.Popen(
        [LAWFUL_CRM, "serve", "--config", str(config), "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    log: list[str] = []
    deadline = time.monotonic() + 30
    base = None
    while base is None:
        line = process.stderr.readline()
        assert line and time.monotonic() < deadline, f"serve did not start: {log}"
        log.append(line)
        if found := re.search(r"listening on (http://\S+)", line):
            base = found.group(1)
    try:
        yield Serving(process, base, log)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stderr.close()


def deliver(base: str) -> None:
    """One Outbound Message with three notifications and one signed callout with two events, all acknowledged."""
    ids = ("04l000000000001AAA", "04l000000000002AAA", "04l000000000003AAA")
    response = httpx.post(f"{base}/webhooks/salesforce/{PATH_SECRET}", content=outbound_body(*ids))
    assert (response.status_code, response.content) == (200, ACK)
    payload = {
        "organizationId": ORG,
        "events": [{"id": f"k{i}", "sobject": "Contact", "recordId": f"003{i:012d}"} for i in (7, 8)],
    }
    assert post_signed(f"{base}/webhooks/salesforce/signed", payload).status_code == 200


def test_acknowledged_events_survive_sigkill_and_are_processed_exactly_once(tmp_path: Path) -> None:
    store_path = tmp_path / "store.db"
    config = write_config(tmp_path / "lawful-crm.toml", store_path, run_worker=False)
    with serving(config) as first:
        deliver(first.base)
        first.process.send_signal(signal.SIGKILL)  # acknowledged, never processed
        first.process.wait(10)
    store = open_store(f"sqlite:///{store_path}")
    assert store.queue.pending() == 5
    with serving(config) as second:
        deliver(second.base)  # the senders never saw... or retried anyway: all five come again
        metrics = httpx.get(f"{second.base}/metrics").text
        assert 'lawful_crm_webhook_events_duplicate_total{crm="salesforce"} 5' in metrics
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(15) == 0, "SIGTERM stops serve cleanly"
        assert second.process.stderr is not None
        log = "".join(second.log) + second.process.stderr.read()
    assert "stopped" in log
    assert PATH_SECRET not in log and SIGNING_SECRET not in log
    assert store.queue.pending() == 5, "nothing lost, nothing doubled"

    crm = FakeCrm.seeded(10)
    reads: list[str] = []
    read = crm.read
    crm.read = lambda object_type, ids: reads.extend(ids) or read(object_type, ids)  # type: ignore[method-assign,func-returns-value]
    pipeline = Pipeline(crm, CompiledMapping(load_mapping("salesforce")), PolicySettings(), store)
    worker = Worker(store, lambda name: pipeline, Metrics())
    while worker.drain_once():
        pass
    assert store.queue.pending() == 0
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 5, "each record read once"
    assert sorted(crm.written_ids()) == ["003000000000007", "003000000000008"]
    (run,) = store.runs.recent("salesforce")
    assert run.kind == "webhook" and run.finished_at is not None and run.finished_at <= datetime.now(UTC)
    store.close()
