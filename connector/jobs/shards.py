"""A full sync split into shards that several workers run at once.

The nightly job lists the object's live ids once (ids only, paged) and ``split``s them, sorted, into contiguous
ranges: at least the shards asked for, more when a range would pass ``MAX_IDS_PER_SHARD`` (each shard job
carries its ids in its arguments, which stay small). Listing once matters: the CRMs page ids 200 (HubSpot) or
2,000 (Salesforce) at a time, so shards that each listed every id would spend N times those calls. A shard job
deferred without ids (by an earlier release) falls back to listing every id and keeping those whose id hashes
(CRC-32) to its index. A shard job reads, decides and writes its ids in batches through
the same pipeline as every other run: only changed flags are written, every decision audited. Its progress is
a cursor of its own (``<object>#shard<i>/<n>``: the last id done, and when the shard's run began), so a shard
job run again after its worker died resumes there instead of starting over. Before writing, the shard's
planned flips from restrictive to permissive are checked against the blast-radius guard share, as a run's are.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from connector.crm.port import Cursor
from connector.store import RunKind, RunOutcome, Store
from connector.sync.pipeline import Decided, PageTally, Pipeline
from connector.sync.plan import BlastRadiusGuard
from connector.sync.reconcile import IdLister
from connector.webhooks.worker import READ_LIMITS

__all__ = ["MAX_IDS_PER_SHARD", "ShardRun", "shard_of", "split", "sync_shard"]

MAX_IDS_PER_SHARD = 50_000
"""Ids one shard job carries at most (about 600 kB of job arguments)."""


def shard_of(record_id: str, shards: int) -> int:
    """The shard of ``record_id`` among ``shards`` (stable across processes and releases)."""
    return zlib.crc32(record_id.encode()) % shards


@dataclass(frozen=True, slots=True)
class ShardRun:
    crm: str
    object_type: str
    index: int
    count: int
    started: datetime
    """When the nightly run this shard belongs to began: a cursor from an earlier run is not resumed."""

    @property
    def cursor_name(self) -> str:
        return f"{self.object_type}#shard{self.index}/{self.count}"


def split(ids: Iterable[str], shards: int) -> list[list[str]]:
    """The distinct ids, sorted, in contiguous ranges of near-equal size: ``shards`` of them, or more so that
    none holds more than ``MAX_IDS_PER_SHARD``."""
    ordered = sorted(set(ids))
    count = max(shards, -(-len(ordered) // MAX_IDS_PER_SHARD), 1)
    return [ordered[len(ordered) * i // count : len(ordered) * (i + 1) // count] for i in range(count)]


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _mine(lister: IdLister, run: ShardRun, after: str) -> list[str]:
    ids = {
        i for page in lister.live_ids(run.object_type) for i in page if shard_of(i, run.count) == run.index
    }
    return sorted(i for i in ids if i > after)


def sync_shard(
    pipeline: Pipeline,
    store: Store,
    run: ShardRun,
    *,
    today: date,
    guard_share: float,
    ids: Sequence[str] | None = None,
) -> tuple[str, PageTally]:
    """Read, decide and write one shard of one object (its ``ids``; listed and picked by hash when None),
    resuming after the last id its cursor names; the outcome is ``completed``, or ``refused`` when the guard
    stopped the shard before any write."""
    crm = pipeline.crm
    saved = store.cursors.get(run.crm, run.cursor_name)
    after = saved.last_id if saved is not None and saved.modified == run.started else ""
    ids = sorted(i for i in set(ids) if i > after) if ids is not None else _mine(crm, run, after)
    now = datetime.now(UTC)
    run_id = store.runs.start(
        run.crm, RunKind.SHARD, policy_id=pipeline.policy.policy_id, now=now, as_of=today
    )
    tally, outcome = PageTally(), RunOutcome.COMPLETED
    try:
        chunks = list(_chunks(ids, READ_LIMITS.get(run.crm, 100)))
        batches = [_decide(pipeline, run.object_type, chunk, today=today, now=now) for chunk in chunks]
        guard = BlastRadiusGuard(share=guard_share, enabled=store.runs.has_completed(run.crm))
        plans = [d.plan for batch in batches for d in batch]
        if guard.admit(plans, pulled=len(plans)).allowed:
            for chunk, decided in zip(chunks, batches, strict=True):
                tally.add(pipeline.apply(decided, run_id=run_id, now=now, dry_run=False))
                cursor = Cursor(run.cursor_name, run.started, chunk[-1])
                store.cursors.save(run.crm, cursor, run_id=run_id, now=now)
        else:
            outcome = RunOutcome.REFUSED
    except BaseException:
        store.runs.finish(run_id, outcome=RunOutcome.FAILED, counts=tally.as_dict(), now=datetime.now(UTC))
        raise
    store.runs.finish(run_id, outcome=outcome, counts=tally.as_dict(), now=datetime.now(UTC))
    return outcome, tally


def _decide(
    pipeline: Pipeline, object_type: str, ids: Sequence[str], *, today: date, now: datetime
) -> list[Decided]:
    records = pipeline.crm.read(object_type, ids)
    return pipeline.decide([r for r in records if not r.deleted], today=today, now=now)
