"""End to end over real HTTP both ways: the sandboxes send signed HubSpot events and Salesforce Outbound Messages
to a real ``lawful-crm serve`` process, whose worker writes the flags back through the real SDKs.

Measured and printed: edit-to-flag latency (goal: within 2 s). Checked: the write-back's own change events come
back and cause no further write; events acknowledged before a SIGKILL are processed exactly once after restart.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig
from connector.store import open_store
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from crm_sandbox.salesforce.ids import make_id
from crm_sandbox.salesforce.server import SalesforceSandbox, running_salesforce

LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))
PATH_SECRET = "e2e-outbound-path-secret-0123"
HUBSPOT_WRITES = "POST /crm/v3/objects/contacts/batch/update"
FLAG_WAIT_S = 10.0
SEARCH_LAG = 4.0
"""HubSpot search sees each write 2 to 4 s late, as HubSpot's does; webhooks and reads by id do not wait."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class World:
    hubspot: HubSpotSandbox
    salesforce: SalesforceSandbox
    base: str
    port: int
    config: Path
    store_url: str


@contextmanager
def sandboxes(tmp_path: Path, *, run_worker: bool = True) -> Iterator[World]:
    """Both sandboxes, sending their webhooks to the port ``serve`` will listen on, and a config for it;
    HubSpot's search lags."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        hs = stack.enter_context(
            running_hubspot(
                contacts=300,
                seed=3,
                webhook_url=f"{base}/webhooks/hubspot",
                webhook_retry_delay=0.2,
                search_lag_s=SEARCH_LAG,
            )
        )
        sf = stack.enter_context(
            running_salesforce(
                contacts=300,
                seed=3,
                webhook_url=f"{base}/webhooks/salesforce/{PATH_SECRET}",
                connector_fields=True,
            )
        )
        hubspot = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token))
        assert HubSpotCrm.from_config(hubspot, load_mapping("hubspot")).install(
            dry_run=False, uninstall=False
        )
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        config = tmp_path / "lawful-crm.toml"
        write_config(config, hs, sf, store_url, run_worker=run_worker)
        yield World(hs, sf, base, port, config, store_url)


def write_config(
    path: Path, hs: HubSpotSandbox, sf: SalesforceSandbox, store_url: str, *, run_worker: bool
) -> None:
    path.write_text(
        f"""
[hubspot]
base_url = "{hs.base_url}"
access_token = "{hs.token}"
client_secret = "{hs.webhook_secret}"
app_id = {hs.app_id}
portal_id = {hs.portal_id}
per_ten_seconds = 190

[salesforce]
auth = "session"
instance_url = "{sf.base_url}"
session_id = "{sf.token}"
org_id = "{sf.org_id}"

[store]
url = "{store_url}"

[webhooks]
salesforce_path_secret = "{PATH_SECRET}"
run_worker = {str(run_worker).lower()}
""",
        encoding="utf-8",
    )


@contextmanager
def serve(world: World) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [LAWFUL_CRM, "serve", "--config", str(world.config), "--port", str(world.port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    try:
        deadline = time.monotonic() + 30
        while not re.search(r"listening on", process.stderr.readline()):
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
        while httpx.get(f"{world.base}/healthz").json().get("worker") == "starting":
            assert time.monotonic() < deadline, "the worker did not get ready"
            time.sleep(0.02)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        process.stderr.close()


def wait_for(condition: Callable[[], Any], timeout: float = FLAG_WAIT_S) -> float:
    """Seconds until ``condition()`` is truthy (fails after ``timeout``)."""
    started = time.perf_counter()
    while not condition():
        assert time.perf_counter() - started < timeout, "timed out"
        time.sleep(0.005)
    return time.perf_counter() - started


def hubspot_flag(hs: HubSpotSandbox, contact_id: str) -> Any:
    record = hs.state.record(contact_id)
    return None if record is None else record["properties"].get("lawful_use_checked")


def salesforce_flag(sf: SalesforceSandbox, contact_id: str) -> Any:
    record = sf.state.record("Contact", contact_id)
    return None if record is None else record.get("Lawful_Use_Checked__c")


def hubspot_edit(hs: HubSpotSandbox, index: int) -> str:
    """A salesperson changes the lifecycle stage in the HubSpot UI."""
    contact_id = hs.state.store.contact_id(index)
    current = hs.state.record(contact_id)["properties"].get("lifecyclestage")  # type: ignore[index]
    hs.state.ui_update(contact_id, {"lifecyclestage": "customer" if current != "customer" else "lead"})
    return contact_id


def salesforce_edit(sf: SalesforceSandbox, index: int) -> str:
    """A Salesforce user changes a contact's lead source."""
    contact_id = make_id("003", index)
    current = sf.state.record("Contact", contact_id)["LeadSource"]  # type: ignore[index]
    sf.state.store.update("Contact", index, {"LeadSource": "Web" if current != "Web" else "Other"})
    return contact_id


def salesforce_writes(sf: SalesforceSandbox) -> int:
    return sum(
        1
        for obj, _, fields in sf.state.store.write_log
        if obj == "Contact" and "Lawful_Use_Checked__c" in fields
    )


def test_a_sandbox_edit_is_flagged_within_two_seconds_and_the_echo_writes_nothing(tmp_path: Path) -> None:
    with sandboxes(tmp_path) as world, serve(world):
        hs, sf = world.hubspot, world.salesforce
        latencies: dict[str, list[float]] = {"hubspot": [], "salesforce": []}
        for index in range(5):
            contact = hubspot_edit(hs, index)
            latencies["hubspot"].append(wait_for(lambda c=contact: hubspot_flag(hs, c)))  # type: ignore[misc]
            contact = salesforce_edit(sf, index)
            latencies["salesforce"].append(wait_for(lambda c=contact: salesforce_flag(sf, c)))  # type: ignore[misc]
        print(
            f"\nedit-to-flag latency (s): { {crm: [round(s, 3) for s in v] for crm, v in latencies.items()} }"
        )
        assert max(latencies["hubspot"] + latencies["salesforce"]) < 2.0

        # the write-backs' own change events arrive: HubSpot's are ignored, Salesforce's decide and write nothing
        metrics = lambda: httpx.get(f"{world.base}/metrics").text  # noqa: E731
        wait_for(lambda: 'reason="own_property"' in metrics())
        assert hs.state.webhooks is not None and sf.outbound is not None
        assert hs.state.webhooks.wait_idle(FLAG_WAIT_S)
        wait_for(lambda: sf.outbound.pending.empty())  # type: ignore[union-attr]
        time.sleep(1.0)
        writes = (hs.state.calls[HUBSPOT_WRITES], salesforce_writes(sf))
        time.sleep(1.5)
        assert (hs.state.calls[HUBSPOT_WRITES], salesforce_writes(sf)) == writes == (5, 5), "no echo loop"
        text = metrics()
        assert 'lawful_crm_writes_total{crm="salesforce",trigger="webhook"} 5' in text
        decided = re.search(r'lawful_crm_decisions_total\{crm="salesforce",trigger="webhook"\} (\d+)', text)
        assert decided is not None and int(decided.group(1)) >= 10, (
            "the echoes were decided again, not written"
        )


def test_events_acknowledged_before_a_sigkill_are_processed_exactly_once_after_restart(
    tmp_path: Path,
) -> None:
    with sandboxes(tmp_path, run_worker=False) as world:
        hs, sf = world.hubspot, world.salesforce
        with serve(world) as first:
            hubspot_ids = [hubspot_edit(hs, index) for index in range(10, 20)]
            salesforce_ids = [salesforce_edit(sf, index) for index in range(10, 20)]
            assert hs.state.webhooks is not None and sf.outbound is not None
            wait_for(lambda: hs.state.webhooks.log.delivered_events >= 10 and sf.outbound.delivered >= 1)  # type: ignore[union-attr]
            wait_for(lambda: sf.outbound.pending.empty())  # type: ignore[union-attr]
            first.send_signal(signal.SIGKILL)  # acknowledged, not processed: the worker was off
            first.wait(10)
        store = open_store(world.store_url)
        assert store.queue.pending() >= 20
        assert not any(hubspot_flag(hs, c) for c in hubspot_ids)
        write_config(world.config, hs, sf, world.store_url, run_worker=True)
        with serve(world):
            elapsed = wait_for(
                lambda: (
                    all(hubspot_flag(hs, c) for c in hubspot_ids)
                    and all(salesforce_flag(sf, c) for c in salesforce_ids)
                )
            )
            wait_for(lambda: store.queue.pending() == 0)
            time.sleep(1.0)  # echoes settle
        print(
            f"\nafter restart, the {len(hubspot_ids) + len(salesforce_ids)} queued edits were flagged in {elapsed:.3f} s"
        )
        written = {
            crm: sum(int(r.counts.get("written", 0)) for r in store.runs.recent(crm, limit=1000))
            for crm in ("hubspot", "salesforce")
        }
        assert written == {"hubspot": 10, "salesforce": 10}, "each record written exactly once"
        assert all(len(store.audit.history("hubspot", c)) == 1 for c in hubspot_ids)
        assert salesforce_writes(sf) == 10
        store.close()


def test_the_scheduled_run_of_serve_syncs_both_sandboxes_under_their_leases(tmp_path: Path) -> None:
    """serve's own wiring (settings → adapters → run_sync → locks → housekeeping), fired once by hand."""
    from connector.commands.serve import _configure

    with sandboxes(tmp_path) as world:
        process = _configure(world.config, None)
        process.scheduler().fire()
        runs = {crm: process.store.runs.recent(crm) for crm in ("hubspot", "salesforce")}
        assert {crm: [(r.kind, r.outcome) for r in rows] for crm, rows in runs.items()} == {
            "hubspot": [("full", "completed")],  # the first run on an empty store reads everything
            "salesforce": [("full", "completed")],
        }
        assert hubspot_flag(world.hubspot, world.hubspot.state.store.contact_id(0))
        assert salesforce_flag(world.salesforce, make_id("003", 0))
        assert process.metrics.value("lawful_crm_syncs_total", crm="hubspot", outcome="completed") == 1
        for crm in ("hubspot", "salesforce"):
            assert process.store.locks.acquire(
                f"sync:{crm}", "another-process", now=datetime.now(UTC), ttl=timedelta(1)
            )
        process.store.close()
