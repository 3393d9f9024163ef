"""The sandbox as the benchmarks use it: in a child process, so each benchmark's peak memory is its own.

Shared by ``bench_sync.py``, ``baseline_naive.py`` and ``run_all.py``: start and stop the emulators, connect
lawful-crm's adapters, count the API calls the sandbox answered, switch HubSpot's rate limits, and edit 1 % of
the records as a salesperson would (through the sandbox's admin API, which costs no API call).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from connector.crm.port import CrmPort
from connector.mapping.load import load_mapping
from connector.settings import HubSpotConfig, SalesforceConfig

HUBSPOT_LIMIT_PER_TEN_SECONDS = 190
"""The sandbox's default rolling limit: HubSpot's 190 per 10 s of a Professional or Enterprise private app."""
UNLIMITED = 100_000
LAWFUL_CRM = str(Path(sys.executable).with_name("lawful-crm"))
"""The ``lawful-crm`` command of the interpreter running the benchmark."""


@contextmanager
def running_sandbox(
    contacts: int, *, seed: int = 1, webhook_url: str | None = None
) -> Iterator[dict[str, Any]]:
    """Both emulators in a child process for the ``with`` block; yields the connection settings.

    With `webhook_url` they send HubSpot webhooks and Salesforce Outbound Messages there."""
    command = [sys.executable, "-m", "connector.cli", "sandbox", "--contacts", str(contacts), "--seed", str(seed),
               "--json"]  # fmt: skip
    if webhook_url is not None:
        command += ["--webhook-url", webhook_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        if "hubspot" in info:  # HubSpot answers once its scan of the seed is done: wait here, not in a run
            requests.get(f"{base_url('hubspot', info)}/__sandbox/stats", timeout=3600).raise_for_status()
        yield info
    finally:
        process.terminate()
        process.wait(timeout=60)


def base_url(crm: str, info: Mapping[str, Any]) -> str:
    return str(info[crm]["instance_url" if crm == "salesforce" else "base_url"]).rstrip("/")


def api_calls(crm: str, info: Mapping[str, Any]) -> int:
    """API calls the sandbox has answered so far, admin endpoints not counted (Salesforce: the quota used)."""
    stats = requests.get(f"{base_url(crm, info)}/__sandbox/stats", timeout=600).json()
    return int(stats["api_used"]) if crm == "salesforce" else sum(stats["calls"].values())


def hubspot_limits(info: Mapping[str, Any], *, per_ten_seconds: int | None) -> None:
    """Set the HubSpot emulator's rolling limit (None: no limit, search limit off too) and reset its windows."""
    body = {"per_ten_seconds": per_ten_seconds, "reset": True}
    if per_ten_seconds is None:
        body["search_per_second"] = None
    response = requests.post(f"{base_url('hubspot', info)}/__sandbox/limits", json=body, timeout=60)
    response.raise_for_status()


def salesforce_daily_limit(info: Mapping[str, Any], limit: int) -> None:
    """Set the Salesforce emulator's daily API request limit (15,000 by default, a small org's)."""
    response = requests.post(
        f"{base_url('salesforce', info)}/__sandbox/quota", json={"limit": limit}, timeout=60
    )
    response.raise_for_status()


def adapter(
    crm: str, info: Mapping[str, Any], *, per_ten_seconds: int = HUBSPOT_LIMIT_PER_TEN_SECONDS
) -> CrmPort:
    """lawful-crm's adapter for one emulator, configured as an admin would for that org or portal."""
    if crm == "salesforce":
        from connector.crm.salesforce import SalesforceCrm

        sf = info["salesforce"]
        config = SalesforceConfig(
            auth="session", instance_url=sf["instance_url"], session_id=SecretStr(sf["token"])
        )
        return SalesforceCrm.from_config(config, load_mapping("salesforce"))
    from connector.crm.hubspot import HubSpotCrm

    hs = info["hubspot"]
    hs_config = HubSpotConfig(
        base_url=hs["base_url"], access_token=SecretStr(hs["token"]), per_ten_seconds=per_ten_seconds,
        search_per_second=UNLIMITED if per_ten_seconds >= UNLIMITED else 5,
    )  # fmt: skip
    return HubSpotCrm.from_config(hs_config, load_mapping("hubspot"))


def edit_share(crm: str, info: Mapping[str, Any], *, records: int, today: date, share: float = 0.01) -> int:
    """Edit `share` of `records` as a salesperson would; returns how many records were edited."""
    body = {"count": max(1, int(records * share)), "seed": 5, "today": today.isoformat()}
    response = requests.post(f"{base_url(crm, info)}/__sandbox/user-edits", json=body, timeout=600)
    response.raise_for_status()
    return int(response.json()["edited"])


def cpu_calibration_s(iterations: int = 20_000_000) -> float:
    """Seconds this machine takes for a plain Python counting loop of `iterations`: one figure to set records/s
    measured on different machines side by side (lower is faster)."""
    started = time.perf_counter()
    total = 0
    for step in range(iterations):
        total += step & 1
    return round(time.perf_counter() - started, 2)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextmanager
def serving(config: Path, port: int, *, stop_wait_s: float = 60) -> Iterator[subprocess.Popen[str]]:
    """``lawful-crm serve`` with ``config`` on ``port``, from the moment it listens until it is terminated."""
    process = subprocess.Popen(
        [LAWFUL_CRM, "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    try:
        seen = []
        while "listening on" not in (line := process.stderr.readline()):
            seen.append(line)
            if not line:
                raise RuntimeError("serve did not start: " + "".join(seen[-5:]))
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe from filling
        yield process
    finally:
        process.terminate()
        process.wait(stop_wait_s)
