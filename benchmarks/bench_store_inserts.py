"""Benchmark the store alone: the audit's cost per page of records in an empty SQLite store and in one that
already holds N records.

No CRM and no emulator: pages of ``--page`` records are kept as a sync keeps a page it wrote back (``intend``,
then ``record`` settling the pending entries), in no particular id order, as a sync meets them. Facts and
decisions are those of ``tests/cases/audit-0006.json`` (a sandbox run's), each given to many record ids. The
large store is first filled with N records' entries and states written directly (fast), then timed the same
way; the seconds per 1,000 records of both tell a slowdown of the store as it grows from one of the CRM or its
emulator. Prints one JSON object.
Usage: ``python benchmarks/bench_store_inserts.py [--records 1262683] [--page 2000] [--pages 10]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from connector.models import ContactFacts, Decision
from connector.store import AuditEntry, Store, open_store
from connector.store.audit import Grounds, WriteStatus
from connector.store.packing import pack
from connector.store.tables import decisions, record_states

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


def fill(
    store: Store, run_id: int, samples: list[tuple[ContactFacts, Decision, dict[str, Any]]], total: int
) -> None:
    """``total`` records' entries and states, written directly in chunks (ids 1,000,000,000 and up), each as
    large as the audit keeps it (not read back: the packed ids are the samples')."""
    packed = [  # the sample's own record id left out, as the audit leaves out each entry's
        (pack(facts.model_dump(mode="json", exclude_defaults=True), facts.id),
         pack(decision.model_dump(mode="json"), decision.id), pack(written), decision.lawful_use.value,
         decision.review_needed, decision.valid_until)
        for facts, decision, written in samples
    ]  # fmt: skip
    now = datetime.now(UTC)
    for start in range(0, total, 10_000):
        numbers = range(start, min(start + 10_000, total))
        entries = [
            {"crm": "salesforce", "object_type": "Contact", "record_id": f"003Sb{1_000_000_000 + n:010d}IAA",
             "run_id": run_id, "decided_at": now, "lawful_use": packed[n % len(packed)][3],
             "review_needed": packed[n % len(packed)][4], "facts": packed[n % len(packed)][0],
             "decision": packed[n % len(packed)][1], "write_status": "written", "written": packed[n % len(packed)][2]}
            for n in numbers
        ]  # fmt: skip
        with store.engine.begin() as db:
            ids = db.execute(
                insert(decisions).returning(decisions.c.id, sort_by_parameter_order=True), entries
            )
            states = [
                {"crm": "salesforce", "record_id": entry["record_id"], "object_type": "Contact",
                 "fingerprint": f"{n:016x}", "decision_id": row.id, "valid_until": packed[n % len(packed)][5]}
                for n, entry, row in zip(numbers, entries, ids, strict=True)
            ]  # fmt: skip
            db.execute(insert(record_states), states)


def timed(store: Store, run_id: int, samples: list[Any], *, pages: int, page: int) -> float:
    """Seconds per 1,000 records to keep ``pages`` pages of new records through the audit."""
    total = pages * page
    spent = 0.0
    for start in range(0, total, page):
        numbers = [((start + i) * _STEP) % total for i in range(page)]
        intents = [entry(n, samples[n % len(samples)], WriteStatus.PENDING) for n in numbers]
        written = [entry(n, samples[n % len(samples)], WriteStatus.WRITTEN) for n in numbers]
        now = datetime.now(UTC)
        started = time.perf_counter()
        pending = store.audit.intend("salesforce", run_id, intents, now=now)
        store.audit.record("salesforce", run_id, written, now=now, pending=pending)
        spent += time.perf_counter() - started
    return round(spent / total * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_262_683)
    parser.add_argument("--page", type=int, default=2_000)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    samples = templates()
    figures: dict[str, Any] = {"page": args.page, "pages": args.pages, "seconds_per_1000": {}}
    for filled in (0, args.records):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "store.db"
            store = open_store(f"sqlite:///{path}")
            run_id = store.runs.start(
                "salesforce", "full", policy_id=samples[0][1].policy, now=datetime.now(UTC)
            )
            started = time.perf_counter()
            fill(store, run_id, samples, filled)
            fill_s = time.perf_counter() - started
            seconds = timed(store, run_id, samples, pages=args.pages, page=args.page)
            store.close()
            figures["seconds_per_1000"][str(filled)] = seconds
            figures[f"fill_s_{filled}"] = round(fill_s, 1)
            figures[f"db_bytes_{filled}"] = path.stat().st_size
            print(json.dumps(figures), flush=True)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
