"""/metrics with prometheus-client: counts of separate processes sharing PROMETHEUS_MULTIPROC_DIR add up in
one scrape, and the gauges (queue depth, dead letters, last successful sync) are read from the store."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.store import open_store
from connector.store.queue import NewEvent
from connector.webhooks.metrics import MULTIPROC_DIR, Metrics, StoreGauges

COUNTING = """
import sys
from datetime import timedelta
from connector.crm.port import ApiUsage
from connector.webhooks.metrics import Metrics
done, waits, calls, throttled = int(sys.argv[1]), [float(s) for s in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
metrics = Metrics()
metrics.inc("lawful_crm_worker_events_total", done, crm="hubspot", outcome="done")
metrics.settled("hubspot", [timedelta(seconds=s) for s in waits])
adapter = object()
metrics.api_usage("hubspot", "webhook", adapter, ApiUsage(calls=calls, throttled=throttled))
print(metrics.value("lawful_crm_worker_events_total", crm="hubspot", outcome="done"))
"""

SCRAPING = "from connector.webhooks.metrics import Metrics; print(Metrics().render(), end='')"


def python(code: str, *args: str, shared: Path | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != MULTIPROC_DIR}
    if shared is not None:
        env[MULTIPROC_DIR] = str(shared)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus-client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_counts_of_two_processes_sharing_the_directory_add_up_in_one_scrape(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    assert python(COUNTING, "3", "0.2,4", "10", "1", shared=shared).strip() == "3.0"
    assert python(COUNTING, "4", "40", "7", "2", shared=shared).strip() == "4.0", "each counts its own"
    scraped = samples(python(SCRAPING, shared=shared))
    hubspot = (("crm", "hubspot"),)
    assert scraped[("lawful_crm_worker_events_total", (*hubspot, ("outcome", "done")))] == 7
    assert scraped[("lawful_crm_webhook_to_flag_seconds_count", hubspot)] == 3
    assert scraped[("lawful_crm_webhook_to_flag_seconds_sum", hubspot)] == 44.2
    assert scraped[("lawful_crm_webhook_to_flag_seconds_bucket", (*hubspot, ("le", "5.0")))] == 2
    assert scraped[("lawful_crm_api_calls_total", (*hubspot, ("trigger", "webhook")))] == 17
    assert scraped[("lawful_crm_api_throttled_total", (*hubspot, ("trigger", "webhook")))] == 3

    alone = samples(python(SCRAPING, shared=None))
    assert ("lawful_crm_worker_events_total", (*hubspot, ("outcome", "done"))) not in alone, (
        "without the directory a process answers its own counts only"
    )


def test_api_usage_counts_only_what_an_adapter_did_since_it_was_last_counted() -> None:
    from connector.crm.port import ApiUsage

    metrics, adapter, other = Metrics(), object(), object()
    metrics.api_usage("salesforce", "sync", adapter, ApiUsage(calls=5, throttled=1))
    metrics.api_usage("salesforce", "sync", adapter, ApiUsage(calls=8, throttled=1))
    metrics.api_usage("salesforce", "sync", other, ApiUsage(calls=2))
    assert metrics.value("lawful_crm_api_calls_total", crm="salesforce", trigger="sync") == 10
    assert metrics.value("lawful_crm_api_throttled_total", crm="salesforce", trigger="sync") == 1


def test_queue_depth_dead_letters_and_the_last_successful_sync_are_read_from_the_store(
    store_url: str,
) -> None:
    store = open_store(store_url)
    try:
        now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
        new = [NewEvent(f"k{i}", "contacts", f"10{i}", "change") for i in range(3)]
        store.queue.enqueue("hubspot", new, now=now)
        claimed = store.queue.claim(now=now, limit=1, lease=timedelta(minutes=5), crm="hubspot")
        store.queue.fail(claimed, code="write_failed", now=now, max_attempts=1)
        finished = {}
        for kind, minutes, outcome in [("full", 10, "completed"), ("incremental", 30, "completed"),
                                       ("incremental", 50, "failed")]:  # fmt: skip
            run = store.runs.start("hubspot", kind, policy_id="p", now=now)
            finished[kind, outcome] = now + timedelta(minutes=minutes)
            store.runs.finish(run, outcome=outcome, counts={}, now=finished[kind, outcome])
        scraped = samples(Metrics().render(StoreGauges(store.queue, store.runs, crms=["salesforce"])))
    finally:
        store.close()
    hubspot = ("crm", "hubspot")
    assert scraped[("lawful_crm_queue_depth", (hubspot, ("status", "pending")))] == 2
    assert scraped[("lawful_crm_queue_depth", (hubspot, ("status", "dead")))] == 1
    assert scraped[("lawful_crm_queue_depth", (("crm", "salesforce"), ("status", "pending")))] == 0
    last = "lawful_crm_last_sync_success_timestamp_seconds"
    assert scraped[(last, (hubspot, ("kind", "full")))] == finished["full", "completed"].timestamp()
    assert scraped[(last, (hubspot, ("kind", "incremental")))] == (
        finished["incremental", "completed"].timestamp()
    ), "the failed run after it is not a success"


def test_serve_refuses_to_start_when_the_multiprocess_directory_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "lawful-crm.toml"
    config.write_text(
        '[salesforce]\nauth = "session"\nsession_id = "unused-token"\ninstance_url = "http://127.0.0.1:9"\n\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, MULTIPROC_DIR: str(tmp_path / "missing"), "LAWFUL_CRM_DNC_KEY": "5e" * 32}
    lawful_crm = str(Path(sys.executable).with_name("lawful-crm"))
    done = subprocess.run(
        [lawful_crm, "serve", "--config", str(config), "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{MULTIPROC_DIR} is not a writable directory" in done.stderr


def test_hubspot_counts_the_calls_it_was_refused_with_429_among_its_calls() -> None:
    from pydantic import SecretStr

    from connector.crm.hubspot import HubSpotCrm
    from connector.mapping.load import load_mapping
    from connector.settings import HubSpotConfig
    from crm_sandbox.hubspot import running_hubspot
    from tests.helpers import SleeplessTime

    with running_hubspot(contacts=20, seed=3) as hs:
        config = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token), per_ten_seconds=10_000)
        crm = HubSpotCrm.from_config(config, load_mapping("hubspot"), clock=SleeplessTime().clock())
        ids = [hs.state.store.contact_id(i) for i in range(3)]
        hs.state.faults.configure(storm_remaining=2, storm_status=429)
        assert [r.id for r in crm.read("contacts", ids)] == ids, "read once the storm passed"
        usage = crm.usage()
    metrics = Metrics()
    metrics.api_usage("hubspot", "webhook", crm, usage)
    assert usage.throttled == 2 and usage.calls >= 3
    assert metrics.value("lawful_crm_api_throttled_total", crm="hubspot", trigger="webhook") == 2


@pytest.mark.usefixtures("no_retry_waits")
def test_salesforce_counts_the_calls_it_was_refused_with_429_among_its_calls() -> None:
    from pydantic import SecretStr

    from connector.crm.salesforce import SalesforceCrm
    from connector.mapping.load import load_mapping
    from connector.settings import SalesforceConfig
    from crm_sandbox.salesforce.ids import make_id
    from crm_sandbox.salesforce.server import running_salesforce

    with running_salesforce(contacts=20, seed=3, connector_fields=True) as sandbox:
        config = SalesforceConfig(
            auth="session", instance_url=sandbox.base_url, session_id=SecretStr(sandbox.token)
        )
        crm = SalesforceCrm.from_config(config, load_mapping("salesforce"))
        ids = [make_id("003", i) for i in range(3)]
        sandbox.state.faults.configure(storm_remaining=2, storm_status=429)
        assert sorted(r.id for r in crm.read("Contact", ids)) == ids, "read once the storm passed"
        usage = crm.usage()
    assert usage.throttled == 2 and usage.calls >= 3
