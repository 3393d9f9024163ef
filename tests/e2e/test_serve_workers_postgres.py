"""serve receives and a separate ``lawful-crm worker`` drains, on a PostgreSQL store, over real HTTP: HubSpot
sandbox edits send signed webhooks to serve, which stores them and defers their drain in one transaction; the
worker writes the flags back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.crm.hubspot import HubSpotCrm
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig
from crm_sandbox.hubspot import HubSpotSandbox, running_hubspot
from tests.dnc_keys import TEST_KEY_HEX
from tests.e2e.test_webhooks_sandbox import free_port, hubspot_edit, hubspot_flag, wait_for

pytest.importorskip("procrastinate")

LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))
ENV = {**os.environ, "LAWFUL_CRM_DNC_KEY": TEST_KEY_HEX, "PYTHONUNBUFFERED": "1"}


@contextmanager
def process(
    command: list[str], log: Path, ready: str, *, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A lawful-crm process writing to ``log``, once ``ready`` shows there; stopped with SIGTERM. ``env`` is
    added to the environment every such process gets."""
    with log.open("wb") as out:
        running = subprocess.Popen(
            [LAWFUL_CRM, *command], stdout=out, stderr=subprocess.STDOUT, env={**ENV, **(env or {})}
        )
        try:
            deadline = time.monotonic() + 60
            while not re.search(ready, log.read_text()):
                assert running.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
            yield running
        finally:
            running.send_signal(signal.SIGTERM)
            try:
                running.wait(30)
            except subprocess.TimeoutExpired:
                running.kill()


def portal_config(path: Path, hs: HubSpotSandbox, store_url: str, *, more: str = "") -> Path:
    """Install lawful-crm's properties on the sandbox portal and write a configuration for serve and workers
    on ``store_url`` (serve only receives); ``more`` adds TOML sections."""
    hubspot = HubSpotConfig(base_url=hs.base_url, access_token=SecretStr(hs.token))
    assert HubSpotCrm.from_config(hubspot, load_mapping("hubspot")).install(dry_run=False, uninstall=False)
    path.write_text(
        f"""
[hubspot]
base_url = "{hs.base_url}"
access_token = "{hs.token}"
client_secret = "{hs.webhook_secret}"
app_id = {hs.app_id}
portal_id = {hs.portal_id}
per_ten_seconds = 100

[store]
url = "{store_url}"

[webhooks]
run_worker = false
{more}""",
        encoding="utf-8",
    )
    return path


def test_serve_stores_and_defers_and_a_worker_writes_the_flags(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_hubspot(
        contacts=200,
        seed=3,
        webhook_url=f"{base}/webhooks/hubspot",
        webhook_retry_delay=0.2,
        per_ten_seconds=100,
    ) as hs:
        config = portal_config(tmp_path / "lawful-crm.toml", hs, postgres_schema_url)
        serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
        serving = ["serve", "--config", str(config), "--port", str(port)]
        with (
            process(serving, serve_log, "listening on"),
            process(["worker", "--config", str(config)], worker_log, "worker started"),
        ):
            edited = [hubspot_edit(hs, index) for index in range(5)]
            for contact in edited:
                wait_for(lambda c=contact: hubspot_flag(hs, c), timeout=30)  # type: ignore[misc]
        assert "drained by lawful-crm worker processes" in serve_log.read_text()
        assert "hubspot shard" in worker_log.read_text()
        assert all(request.status != 429 for request in list(hs.state.requests))
