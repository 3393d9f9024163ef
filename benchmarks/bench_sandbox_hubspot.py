"""Benchmark the HubSpot sandbox: requests per second it serves to hubspot-api-client, and memory at 1M contacts.

Prints one JSON object. Throughput is measured in this process over real HTTP on 127.0.0.1 with one client
thread (the SDK and the emulator share the machine, so the figure includes the SDK's own cost). Memory is
measured in a fresh subprocess that seeds 1,000,000 contacts, builds the company table and serves a few calls,
including incremental searches (``lastmodifieddate GT t`` sorted ascending, served by the modification index;
the first one includes building it) whose page times are reported.
Usage: ``python benchmarks/bench_sandbox_hubspot.py [--contacts-rss 1000000] [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from crm_sandbox.hubspot import running_hubspot

NO_RETRY = Retry(total=0, status=0, respect_retry_after_header=False, raise_on_status=False)


def rate(call: Callable[[int], Any], seconds: float) -> dict[str, float]:
    """Run ``call(i)`` repeatedly for about ``seconds``; requests per second and median latency in ms."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - started)
        i += 1
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / sum(latencies), 1),
        "median_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "requests": len(latencies),
    }


def throughput(seconds: float) -> dict[str, Any]:
    """Requests/s for list pages, batch reads, batch updates and searches of 100 contacts."""
    with running_hubspot(
        contacts=50_000, seed=1, per_ten_seconds=None, search_per_second=None, daily=None
    ) as hs:
        hs.state.store.companies()  # let the background company scan finish first
        client = HubSpot(access_token=hs.token, host=hs.base_url, retry=NO_RETRY)
        basic, batch = client.crm.contacts.basic_api, client.crm.contacts.batch_api
        search = client.crm.contacts.search_api
        props = [
            "email",
            "country",
            "hs_legal_basis",
            "hs_analytics_source",
            "lifecyclestage",
            "hs_email_optout",
        ]

        def list_page(i: int) -> None:
            basic.get_page(limit=100, after=str(1001 + (i * 100) % 49_000), properties=props)

        def batch_read(i: int) -> None:
            ids = [{"id": str(1001 + (i * 100 + k) % 50_000)} for k in range(100)]
            batch.read(batch_read_input_simple_public_object_id={"inputs": ids, "properties": props})

        def batch_update(i: int) -> None:
            inputs = [
                {"id": str(1001 + (i * 100 + k) % 50_000), "properties": {"jobtitle": f"t{i % 7}"}}
                for k in range(100)
            ]
            batch.update(batch_input_simple_public_object_batch_input={"inputs": inputs})

        def id_search(i: int) -> None:
            low = 1000 + (i * 100) % 49_000
            group = {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": str(low)}]}
            search.do_search(
                public_object_search_request={
                    "filterGroups": [group],
                    "sorts": ["hs_object_id"],
                    "properties": props,
                    "limit": 100,
                }
            )

        results = {
            "list_page_100": rate(list_page, seconds),
            "batch_read_100": rate(batch_read, seconds),
            "batch_update_100": rate(batch_update, seconds),
            "search_page_100_by_id": rate(id_search, seconds),
        }
        first = time.perf_counter()
        search.do_search(
            public_object_search_request={
                "filterGroups": [
                    {"filters": [{"propertyName": "country", "operator": "EQ", "value": "Germany"}]}
                ],
                "limit": 100,
            }
        )
        results["search_full_scan_50k_first_page_ms"] = round((time.perf_counter() - first) * 1000, 1)
        by_endpoint: dict[str, list[float]] = {}
        for entry in hs.state.requests:
            by_endpoint.setdefault(f"{entry.method} {entry.endpoint}", []).append(entry.millis)
        results["server_side_median_ms"] = {
            k: round(sorted(v)[len(v) // 2], 2) for k, v in by_endpoint.items()
        }
        return results


RSS_CHILD = """
import json, time
from hubspot import HubSpot
from crm_sandbox.hubspot import running_hubspot
t0 = time.perf_counter()
with running_hubspot(contacts={n}, seed=1, per_ten_seconds=None, search_per_second=None) as hs:
    started = time.perf_counter() - t0
    companies = len(hs.state.store.companies())
    scanned = time.perf_counter() - t0
    c = HubSpot(access_token=hs.token, host=hs.base_url)
    c.crm.contacts.basic_api.get_page(limit=100, after=str(1001 + {n} - 500))
    c.crm.contacts.batch_api.read(batch_read_input_simple_public_object_id={{"inputs": [{{"id": "1001"}}]}})
    search = c.crm.contacts.search_api
    def incremental(value, after=0):
        group = {{"filters": [{{"propertyName": "lastmodifieddate", "operator": "GT", "value": value}}]}}
        body = {{"filterGroups": [group], "sorts": [{{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}}],
                "limit": 100, "after": after}}
        started = time.perf_counter()
        page = search.do_search(public_object_search_request=body)
        return page, (time.perf_counter() - started) * 1000
    inputs = [{{"id": str(1001 + k * 97), "properties": {{"jobtitle": "x"}}}} for k in range(100)]
    c.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input={{"inputs": inputs}})
    _, first_ms = incremental("2025-09-01T00:00:00Z")
    times = []
    for k in range(5):
        page, ms = incremental("2025-09-01T00:00:00Z", after=100 * k)
        times.append(ms)
    big, big_ms = incremental("1546300800000")
    _, big_next_ms = incremental("1546300800000", after=9900)
    extra = {{"incremental_first_search_incl_index_build_s": round(first_ms / 1000, 2),
              "incremental_page_1m_ms": round(sorted(times)[2], 1), "incremental_total": page.total,
              "incremental_large_result_page_1m_ms": round(big_ms, 1), "incremental_large_total": big.total,
              "incremental_large_result_page_after_9900_1m_ms": round(big_next_ms, 1)}}
    status = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith(("VmRSS", "VmHWM")))
    print(json.dumps({{"contacts": {n}, "companies": companies, "start_s": round(started, 2),
                      "company_table_s": round(scanned, 1),
                      "rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1),
                      "peak_rss_mib": round(int(status["VmHWM"].split()[0]) / 1024, 1), **extra}}))
"""


def memory(contacts: int) -> dict[str, Any]:
    """RSS of a fresh process serving ``contacts`` seeded contacts (company table built)."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD.format(n=contacts)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Print the benchmark JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts-rss", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    report = {"throughput": throughput(args.seconds), "memory": memory(args.contacts_rss)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
