"""Alerts after a sync, posted to a loopback receiver as Slack and Teams read them: a failed run, a guard refusal,
a stale register copy, a review backlog above its threshold; a receiver that is down never fails the run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.admin.alerts import alert_after_run, alerts_after_run
from connector.dnc.registers import DncRegisters
from connector.models import RegisterList
from connector.settings import AlertsConfig
from connector.store import Store, open_store
from tests.conftest import NOW
from tests.dnc_keys import TEST_KEY
from tests.fakes import FakeCrm
from tests.integration.test_sync_run import sync

LATER = datetime(2026, 2, 1, tzinfo=UTC)
"""When the runs written by hand start and end (after the synced ones)."""


@contextmanager
def receiver(status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback incoming-webhook endpoint that keeps every JSON body it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/secret", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_a_good_run_under_the_threshold_asks_for_no_alert(store: Store) -> None:
    sync(FakeCrm.seeded(40), store, full=True)
    assert alerts_after_run(store, "salesforce", review_backlog_above=None, today=NOW) == []
    assert alerts_after_run(store, "salesforce", review_backlog_above=40, today=NOW) == []


def test_failed_and_refused_runs_and_the_review_backlog_are_each_an_alert(store: Store) -> None:
    result = sync(FakeCrm.seeded(40), store, full=True)
    backlog = result.tally.review
    [alert] = alerts_after_run(store, "salesforce", review_backlog_above=backlog - 1, today=NOW)
    assert alert.kind == "review_backlog" and f"{backlog:,} salesforce records await review" in alert.text
    run_id = store.runs.start(
        "salesforce", "incremental", policy_id="p", now=store.runs.recent()[0].started_at
    )
    store.runs.finish(run_id, outcome="refused", counts={"message": "9 of 10 records would open"}, now=LATER)
    [alert] = alerts_after_run(store, "salesforce", review_backlog_above=None, today=NOW)
    assert alert.kind == "guard_refused" and "9 of 10 records would open" in alert.text
    run_id = store.runs.start("salesforce", "incremental", policy_id="p", now=LATER)
    store.runs.finish(run_id, outcome="failed", counts={"message": "AuthenticationError"}, now=LATER)
    [alert] = alerts_after_run(store, "salesforce", review_backlog_above=None, today=NOW)
    assert alert.kind == "run_failed" and f"(run {run_id}) failed: AuthenticationError" in alert.text


def test_a_register_copy_older_than_its_refresh_period_is_an_alert(store: Store, tmp_path: Path) -> None:
    listing = tmp_path / "tps.txt"
    listing.write_text("020 7946 0123\n", encoding="utf-8")
    old = NOW - timedelta(days=40)
    DncRegisters(store, key=TEST_KEY, today=lambda: old).import_list(RegisterList.UK_TPS, listing, old)
    assert (
        alerts_after_run(store, "salesforce", review_backlog_above=None, today=old + timedelta(days=28)) == []
    )
    [alert] = alerts_after_run(store, "salesforce", review_backlog_above=None, today=NOW)
    assert alert.kind == "register_stale" and "UK_TPS copy is 40 days old" in alert.text


def test_alerts_reach_the_receiver_as_one_message_and_a_receiver_that_is_down_fails_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    sync(FakeCrm.seeded(40), store, full=True)
    with receiver() as (url, received):
        config = AlertsConfig(webhook_url=SecretStr(url), review_backlog_above=0)
        sent = alert_after_run(config, store, "salesforce", today=NOW)
    assert [alert.kind for alert in sent] == ["review_backlog"]
    assert received == [{"text": sent[0].text}]
    with receiver(status=500) as (url, received):
        alert_after_run(
            AlertsConfig(webhook_url=SecretStr(url), review_backlog_above=0), store, "salesforce", today=NOW
        )
    assert len(received) == 1 and "the receiver answered 500" in caplog.text
    down = AlertsConfig(webhook_url=SecretStr("http://127.0.0.1:9/hooks/secret"), review_backlog_above=0)
    assert alert_after_run(down, store, "salesforce", today=NOW)
    assert "hooks/secret" not in caplog.text, "the URL holds the receiver's secret: never logged"
    assert alert_after_run(AlertsConfig(), store, "salesforce", today=NOW) == [], "off when unset"
