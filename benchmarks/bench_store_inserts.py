"""Benchmark the store alone: the audit's cost per page of records as a SQLite store grows to N records.

No CRM and no emulator: pages of ``--page`` records are kept as a sync keeps a page it wrote back (``intend``,
then ``record`` settling the pending entries), in the order a sync meets them (by modification time, so in no
particular id order). Facts and decisions are those of ``tests/cases/audit-0006.json`` (a sandbox run's), each
given to many record ids. Reports the seconds per 1,000 records at each tenth of the way and the file's bytes per
record, so that a slowdown of the store as it grows is told apart from one of the CRM or its emulator.
Prints one JSON object. Usage: ``python benchmarks/bench_store_inserts.py [--records 1262683] [--page 2000]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.models import ContactFacts, Decision
from connector.store import AuditEntry, open_store
from connector.store.audit import Grounds, WriteStatus

CASES = Path(__file__).parents[1] / "tests" / "cases" / "audit-0006.json"
_STEP = 7_919  # a prime: visits every record index once, in no id order


def templates() -> list[tuple[ContactFacts, Decision, dict[str, Any]]]:
    """(facts, decision, written values) of each written entry of the sample."""
    kept = json.loads(CASES.read_text(encoding="utf-8"))
    return [
        (ContactFacts.model_validate(row["facts"]), Decision.model_validate(row["decision"]), row["written"])
        for row in kept["decisions"]
        if row["written"]
    ]


def entry(number: int, sample: tuple[ContactFacts, Decision, dict[str, Any]], status: str) -> AuditEntry:
    record_id = f"003Sb{number:010d}IAA"
    facts, decision, written = sample
    return AuditEntry(
        object_type="Contact", record_id=record_id, facts=facts.model_copy(update={"id": record_id}),
        decision=decision.model_copy(update={"id": record_id}), write_status=status, written=written,
        grounds=Grounds(mapping_hash="9eca1a2edf8fac95", phones=()),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_262_683)
    parser.add_argument("--page", type=int, default=2_000)
    args = parser.parse_args()
    samples = templates()
    total, page = args.records, args.page
    marks = {round(total * tenth / 10) for tenth in range(1, 11)}
    figures: dict[str, Any] = {"records": total, "page": page, "seconds_per_1000": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        store = open_store(f"sqlite:///{path}")
        run_id = store.runs.start("salesforce", "full", policy_id=samples[0][1].policy, now=datetime.now(UTC))
        done, since, spent = 0, 0, 0.0
        while done < total:
            numbers = [((done + i) * _STEP) % total for i in range(min(page, total - done))]
            intents = [entry(n, samples[n % len(samples)], WriteStatus.PENDING) for n in numbers]
            written = [entry(n, samples[n % len(samples)], WriteStatus.WRITTEN) for n in numbers]
            now = datetime.now(UTC)
            started = time.perf_counter()
            pending = store.audit.intend("salesforce", run_id, intents, now=now)
            store.audit.record("salesforce", run_id, written, now=now, pending=pending)
            spent += time.perf_counter() - started
            before, done = done, done + len(numbers)
            if any(before < mark <= done for mark in marks):
                figures["seconds_per_1000"][str(done)] = round(spent / (done - since) * 1000, 3)
                since, spent = done, 0.0
        store.close()
        figures["db_bytes"] = path.stat().st_size
        figures["bytes_per_record"] = round(path.stat().st_size / total, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
