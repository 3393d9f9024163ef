"""Benchmark the admin's view on a large store: what one ``GET /admin`` (or ``lawful-crm report --html``) costs.

A SQLite store is filled with N records under management (one current decision each, categories and review flags
as a real org spreads them) and 20 runs; the overview is then gathered (run log, categories and review backlog over
every current decision, queue, registers) and rendered to HTML with its two SVG charts. Prints one JSON object.
Usage: ``python benchmarks/bench_admin_overview.py [--records 200000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from connector.admin.overview import collect
from connector.admin.render import render_report
from connector.models import LawfulUse
from connector.store import open_store
from connector.store.packing import pack
from connector.store.tables import decisions, record_states

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
CATEGORIES = [use.value for use in LawfulUse]
CHUNK = 10_000


def fill(url: str, records: int) -> None:
    store = open_store(url)
    for run in range(20):
        run_id = store.runs.start(
            "salesforce", "incremental", policy_id="bench", now=NOW + timedelta(hours=run)
        )
        counts = {"read": 1000 + run, "written": 100, "review": 7, "categories": {"opt_in": 3},
                  "transitions": {"email_allowed: false→true": 2, "do_not_cold_call: false→true": 5}}  # fmt: skip
        store.runs.finish(
            run_id, outcome="completed", counts=counts, now=NOW + timedelta(hours=run, minutes=5)
        )
    with store.engine.begin() as db:
        for start in range(0, records, CHUNK):
            rows = range(start, min(start + CHUNK, records))
            db.execute(
                insert(decisions),
                [
                    {
                        "id": i + 1, "crm": "salesforce", "object_type": "Contact", "record_id": f"003{i:012d}",
                        "run_id": 1, "decided_at": NOW, "facts": pack({"id": f"003{i:012d}"}, f"003{i:012d}"),
                        "lawful_use": CATEGORIES[i % len(CATEGORIES)], "review_needed": i % 9 == 0,
                        "decision": pack({"policy": "bench"}), "write_status": "written",
                    }
                    for i in rows
                ],
            )  # fmt: skip
            db.execute(
                insert(record_states),
                [
                    {"crm": "salesforce", "record_id": f"003{i:012d}", "object_type": "Contact",
                     "fingerprint": "f" * 32, "decision_id": i + 1}
                    for i in rows
                ],
            )  # fmt: skip
    store.close()


def measure(records: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        started = time.perf_counter()
        fill(url, records)
        filled_s = time.perf_counter() - started
        store = open_store(url)
        gather, render = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            overview = collect(store, ["salesforce"], now=NOW, schedule="0 2 * * *", time_zone="UTC")
            gather.append(time.perf_counter() - started)
            started = time.perf_counter()
            page = render_report(overview)
            render.append(time.perf_counter() - started)
        store.close()
        assert overview.crms[0].managed == records
    return {
        "benchmark": "admin_overview",
        "records": records,
        "runs": 20,
        "fill_s": round(filled_s, 2),
        "gather_s_best": round(min(gather), 3),
        "render_s_best": round(min(render), 3),
        "page_bytes": len(page.encode("utf-8")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.records, args.repeat)))


if __name__ == "__main__":
    main()
