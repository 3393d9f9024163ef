"""/metrics of a scaled-out deployment, scraped after a real webhook flow on the HubSpot sandbox: serve (which
receives) and a ``lawful-crm worker`` (which writes the flags) share PROMETHEUS_MULTIPROC_DIR, and the one
scrape of serve's internal metrics port adds up what each process counted; the webhook port has no /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.store import open_store
from connector.webhooks.metrics import MULTIPROC_DIR
from crm_sandbox.hubspot import running_hubspot
from tests.e2e.test_serve_workers_postgres import portal_config, process
from tests.e2e.test_webhooks_sandbox import free_port, hubspot_edit, hubspot_flag, wait_for

pytest.importorskip("procrastinate")

EDITS = 6

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_one_scrape_adds_up_what_serve_and_a_worker_counted(postgres_schema_url: str, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    shared = tmp_path / "prometheus"
    shared.mkdir()
    with running_hubspot(
        contacts=100,
        seed=5,
        webhook_url=f"{base}/webhooks/hubspot",
        webhook_retry_delay=0.2,
        per_ten_seconds=100,
    ) as hs:
        config = portal_config(
            tmp_path / "lawful-crm.toml",
            hs,
            postgres_schema_url,
            more=f"\n[metrics]\nport = {metrics_port}\n",
        )
        serving = ["serve", "--config", str(config), "--port", str(port)]
        metrics = {MULTIPROC_DIR: str(shared)}
        with (
            process(serving, tmp_path / "serve.log", "listening on", env=metrics),
            process(
                ["worker", "--config", str(config)], tmp_path / "worker.log", "worker started", env=metrics
            ),
        ):
            edited = [hubspot_edit(hs, index) for index in range(EDITS)]
            for contact in edited:
                wait_for(lambda c=contact: hubspot_flag(hs, c), timeout=30)  # type: ignore[misc]
            store = open_store(postgres_schema_url)
            try:
                wait_for(lambda: store.queue.pending() == 0, timeout=30)
                settled = sum(depth.done for depth in store.queue.depth())
            finally:
                store.close()
            assert httpx.get(f"{base}/metrics").status_code == 404, "not on the port the CRMs reach"
            scraped = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    crm = ("crm", "hubspot")
    queued = scraped[("lawful_crm_webhook_events_queued_total", (crm,))]  # counted by serve
    done = scraped[("lawful_crm_worker_events_total", (crm, ("outcome", "done")))]  # counted by the worker
    assert queued == done == settled >= EDITS
    assert scraped[("lawful_crm_webhook_to_flag_seconds_count", (crm,))] == settled
    assert scraped[("lawful_crm_webhook_to_flag_seconds_bucket", (crm, ("le", "+Inf")))] == settled
    assert scraped[("lawful_crm_writes_total", (crm, ("trigger", "webhook")))] >= EDITS
    assert scraped[("lawful_crm_api_calls_total", (crm, ("trigger", "webhook")))] > 0
    assert scraped.get(("lawful_crm_api_throttled_total", (crm, ("trigger", "webhook"))), 0) == 0
    assert scraped[("lawful_crm_queue_depth", (crm, ("status", "pending")))] == 0
    assert scraped[("lawful_crm_queue_depth", (crm, ("status", "dead")))] == 0
    assert len(list(shared.glob("counter_*.db"))) >= 2, "each process wrote its own counts"
