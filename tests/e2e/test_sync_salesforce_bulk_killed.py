"""Killed at any moment of a Bulk API 2.0 job's life, a sync loses no write and writes nothing twice.

As `test_sync_killed_at_every_call`, with `bulk_threshold` low enough that the pull runs as a Bulk query job and
the write-back as Bulk update jobs: the sync is SIGKILLed right after the org carried out a chosen call of the
job lifecycle (query job created, results read, update job created, data uploaded, upload closed, the poll that
ran the job, its results read), then a second run completes. Every record written has a `written` audit entry
holding its current values, none is left pending, the flags equal an uninterrupted run's, and no record was
written by more update jobs than an uninterrupted run needs (a job uploaded but never read is waited for, not
sent again): each record has at most one `written` audit entry.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connector.mapping.load import load_mapping
from connector.store import open_store
from tests.e2e.test_sync_killed_at_every_call import (
    Org,
    Outcome,
    complete_run,
    kill_after_call,
    moment,
    processes,
    read_back,
    salesforce_org,
    same,
)

__all__ = ["processes"]  # the forkserver fixture, shared with the kill-at-every-call test

BULK = "bulk_threshold = 5\nbulk_poll_s = 0\n"
REVIEW_NEEDS_A_TITLE = {
    "object": "Contact", "name": "ReviewTitle", "message": "A record for review needs a title",
    "condition": "Lawful_Use_Review__c = true AND Title = null",
}  # fmt: skip
MOMENTS = (
    ("POST", "bulkQueryJob"),
    ("GET", "bulkQueryResults"),
    ("POST", "bulkCreateJob"),
    ("PUT", "bulkUpload"),
    ("PATCH", "bulkJobState"),
    ("GET", "bulkJob"),
    ("GET", "bulkResults"),
)


@contextmanager
def bulk_org() -> Iterator[Org]:
    """An org whose job fails some rows (so its results are read: a job that writes every row is not)."""
    with salesforce_org(rules=[REVIEW_NEEDS_A_TITLE]) as org:
        yield dataclasses.replace(org, config=org.config + BULK, completed=(0, 1))


def start(org: Org, workdir: Path) -> None:
    workdir.mkdir()
    (workdir / "lawful-crm.toml").write_text(org.config, encoding="utf-8")


def writes_per_record(workdir: Path) -> Counter[str]:
    """Record id -> how many `written` audit entries it has (each write the CRM carried out has one)."""
    with sqlite3.connect(workdir / "lawful-crm.db") as db:
        rows = db.execute("SELECT record_id FROM decisions WHERE write_status = 'written'").fetchall()
    return Counter(record_id for (record_id,) in rows)


def assert_every_write_audited(workdir: Path, outcome: Outcome, call: int) -> None:
    """Every record whose `checked` lawful-crm set has a `written` entry holding its values; none pending."""
    store = open_store(f"sqlite:///{workdir / 'lawful-crm.db'}")
    checked = load_mapping("salesforce").writeback.checked
    try:
        for object_type in ("Contact", "Lead"):
            assert store.audit.unsettled("salesforce", object_type, limit=5) == [], (
                f"call {call}: pending left"
            )
        for record_id, stamp in outcome.checked.items():
            if stamp in (None, ""):
                continue
            written = [
                row for row in store.audit.history("salesforce", record_id) if row.write_status == "written"
            ]
            assert written, f"killed after call {call}: {record_id} written with no `written` entry"
            values = written[-1].written or {}
            assert moment(values[checked]) == moment(stamp), (
                f"call {call}: {record_id}'s last write not audited"
            )
            current = outcome.current[record_id]
            wrong = [n for n, v in values.items() if n != checked and not same(current.get(n), v)]
            assert wrong == [], f"call {call}: {record_id} holds values its audit entry did not write"
    finally:
        store.close()


def test_a_bulk_sync_killed_in_any_phase_of_a_job_loses_no_write_and_writes_nothing_twice(
    processes: Any, tmp_path: Path
) -> None:
    with bulk_org() as org:
        workdir = tmp_path / "uninterrupted"
        start(org, workdir)
        complete_run(processes, org, workdir)
        calls = [(entry["method"], entry["endpoint"]) for entry in org.log]
        baseline = read_back(org)
        assert_every_write_audited(workdir, baseline, 0)
        assert max(writes_per_record(workdir).values()) == 1
    moments = [calls.index(moment) + 1 for moment in MOMENTS if moment in calls]
    assert len(moments) == len(MOMENTS), f"every phase of a Bulk job is among the run's calls: {calls}"
    second_poll = calls.index(("GET", "bulkJob"), moments[-2]) + 1
    moments.append(second_poll)

    for call in moments:
        with bulk_org() as org:
            workdir = tmp_path / f"killed-after-{call}"
            start(org, workdir)
            assert kill_after_call(processes, org, workdir, call), (
                f"killed after call {call} {calls[call - 1]}"
            )
            complete_run(processes, org, workdir)
            outcome = read_back(org)
        assert_every_write_audited(workdir, outcome, call)
        assert outcome.flags == baseline.flags, (
            f"killed after call {call} {calls[call - 1]}: the flags differ"
        )
        twice = [record_id for record_id, n in writes_per_record(workdir).items() if n > 1]
        assert twice == [], f"killed after call {call} {calls[call - 1]}: written twice"
