"""Benchmark the Salesforce sandbox: requests/s it serves to simple-salesforce, and memory with 1M contacts.

Prints one JSON object. Memory is measured in a fresh subprocess (peak RSS from /proc) so the figure is the
emulator's own: start with 1,000,000 contacts, page through the first 10,000 via the REST API, update 2,000
records through sObject Collections, and count all contacts with a full filtered scan.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from simple_salesforce import Salesforce

from crm_sandbox.salesforce.server import running_salesforce


def _rate(calls: int, seconds: float) -> float:
    return round(calls / seconds, 1)


def throughput(contacts: int = 20000) -> dict[str, Any]:
    """Requests per second for query pages (2,000 and 200 rows) and composite updates of 200 records."""
    with running_salesforce(contacts=contacts, seed=1, daily_limit=10**9) as sandbox:
        session = sandbox.session()
        sf = Salesforce(
            instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version="59.0"
        )
        started = time.perf_counter()
        records = sf.query_all(
            "SELECT Id, Email, LeadSource, HasOptedOutOfEmail, DoNotCall, SystemModstamp FROM Contact"
        )
        big_pages = sandbox.state.counters["GET query"] + sandbox.state.counters["GET queryMore"]
        big_seconds = time.perf_counter() - started
        small_calls = 200
        started = time.perf_counter()
        for _ in range(small_calls):
            sf.query("SELECT Id, Email, Account.Type FROM Contact LIMIT 200")
        small_seconds = time.perf_counter() - started
        ids = [record["Id"] for record in records["records"]]
        batches = [ids[start : start + 200] for start in range(0, min(len(ids), 20000), 200)]
        started = time.perf_counter()
        for batch in batches:
            body = {"allOrNone": False, "records": [
                {"attributes": {"type": "Contact"}, "id": record_id, "DoNotCall": True} for record_id in batch]}  # fmt: skip
            sf.restful("composite/sobjects", method="PATCH", json=body)
        write_seconds = time.perf_counter() - started
        session.close()
    return {
        "query_pages_2000_rows_per_s": _rate(big_pages, big_seconds),
        "query_records_per_s": _rate(len(ids), big_seconds),
        "query_200_rows_with_parent_per_s": _rate(small_calls, small_seconds),
        "composite_updates_200_per_s": _rate(len(batches), write_seconds),
        "records_written_per_s": _rate(len(batches) * 200, write_seconds),
    }


_MEMORY_SCRIPT = """
import json, re, time
from simple_salesforce import Salesforce
from crm_sandbox.salesforce.server import running_salesforce

def rss_mib(kind):
    text = open("/proc/self/status").read()
    return round(int(re.search(kind + r":\\s+(\\d+)", text).group(1)) / 1024, 1)

out = {}
started = time.perf_counter()
with running_salesforce(contacts=1_000_000, seed=1, daily_limit=10**9) as sandbox:
    out["startup_s"] = round(time.perf_counter() - started, 2)
    out["rss_after_start_mib"] = rss_mib("VmRSS")
    session = sandbox.session()
    sf = Salesforce(instance_url=sandbox.base_url, session_id=sandbox.token, session=session, version="59.0")
    first = sf.query("SELECT Id, Email FROM Contact")
    ids = [r["Id"] for r in first["records"]]
    url = first["nextRecordsUrl"]
    for _ in range(4):
        page = sf.query_more(url, identifier_is_url=True)
        ids += [r["Id"] for r in page["records"]]
        url = page["nextRecordsUrl"]
    out["first_query_total_size"] = first["totalSize"]
    for start in range(0, 2000, 200):
        body = {"records": [{"attributes": {"type": "Contact"}, "id": i, "DoNotCall": True} for i in ids[start:start + 200]]}
        sf.restful("composite/sobjects", method="PATCH", json=body)
    started = time.perf_counter()
    count = sf.query("SELECT COUNT() FROM Contact WHERE HasOptedOutOfEmail = true")["totalSize"]
    out["full_scan_filtered_count_1m_s"] = round(time.perf_counter() - started, 1)
    out["opted_out_contacts"] = count
    soql = "SELECT Id, Email, SystemModstamp FROM Contact WHERE SystemModstamp > {} ORDER BY SystemModstamp, Id"
    started = time.perf_counter()
    sf.query(soql.format("2025-09-01T00:00:00Z"))
    out["incremental_first_query_incl_index_build_1m_s"] = round(time.perf_counter() - started, 2)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        page = sf.query(soql.format("2025-09-01T00:00:00Z"))
        times.append(time.perf_counter() - started)
    out["incremental_page_1m_ms"] = round(sorted(times)[2] * 1000, 1)
    out["incremental_page_rows"] = len(page["records"])
    out["incremental_total_size"] = page["totalSize"]
    started = time.perf_counter()
    big = sf.query(soql.format("2019-01-01T00:00:00Z"))
    out["incremental_first_page_of_large_result_1m_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["incremental_large_total_size"] = big["totalSize"]
    started = time.perf_counter()
    sf.query_more(big["nextRecordsUrl"], identifier_is_url=True)
    out["incremental_query_more_page_1m_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["rss_after_work_mib"] = rss_mib("VmRSS")
    out["peak_rss_mib"] = rss_mib("VmHWM")
    session.close()
print(json.dumps(out))
"""


def memory_with_a_million_contacts() -> dict[str, Any]:
    """Run the 1M-contact scenario in a subprocess and return its figures."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True, check=True, timeout=900
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Print the benchmark figures as one JSON object."""
    result = {
        "salesforce_sandbox": {
            "throughput": throughput(),
            "one_million_contacts": memory_with_a_million_contacts(),
        }
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
