"""The durable webhook queue: de-duplicated record events, claimed in batches, retried with backoff, dead-lettered.

A delivery's events are committed before the receiver answers, so an acknowledged event survives a crash.
The worker claims due events with a lease (``next_attempt_at`` moves ahead and ``attempts`` counts up in the
same statement), so a worker that dies mid-batch leaves its events to be claimed again once the lease ends,
and several workers sharing a PostgreSQL store never take the same event. Settled events stay ``done`` for a
while, so redeliveries by the CRM are still recognised as duplicates; ``prune_done`` removes them later.
Rows hold ids and codes only, never personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from connector.store.failures import unavailable_on_failure
from connector.store.tables import events

__all__ = [
    "ClaimedEvent",
    "DeadLetter",
    "Enqueued",
    "EventKind",
    "EventQueue",
    "EventStatus",
    "NewEvent",
    "OnQueued",
    "QueueDepth",
    "Shard",
    "record_shard",
    "retry_delay",
]

EventKind = Literal["change", "delete", "privacy_delete"]
"""``change``: read the record and decide again; ``delete`` / ``privacy_delete``: forget the person."""


class EventStatus(StrEnum):
    """Where a queued event stands; the ``status`` column holds the value."""

    PENDING = "pending"
    """Due at ``next_attempt_at`` (claimed under a lease while a worker settles it)."""
    DONE = "done"
    """Settled; kept as de-duplication memory until ``prune_done``."""
    DEAD = "dead"
    """Out of attempts: dead-lettered until replayed."""


FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=30)
_CHUNK = 500
_KEY = ["crm", "dedupe_key"]


def retry_delay(attempts: int) -> timedelta:
    """How long an event waits after its ``attempts``-th failed attempt: doubling from 5 s, at most 30 min."""
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LAST_RETRY)


@dataclass(frozen=True, slots=True)
class NewEvent:
    dedupe_key: str
    """The same on every redelivery of the event (HubSpot eventId, Salesforce notification Id, …)."""
    object_type: str
    record_id: str
    kind: EventKind


@dataclass(frozen=True, slots=True)
class Enqueued:
    queued: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    crm: str
    object_type: str
    record_id: str
    kind: str
    attempts: int
    """Attempts so far, this one included."""
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    crm: str
    object_type: str
    record_id: str
    kind: str
    attempts: int
    received_at: datetime
    error_code: str | None


@dataclass(frozen=True, slots=True)
class QueueDepth:
    crm: str
    pending: int
    dead: int
    done: int


class EventQueue:
    """The webhook queue. What the receiver calls (``enqueue``, ``enqueue_many``, ``depth``, ``pending``) raises
    ``StoreUnavailable`` when the database fails, so the receiver answers 503 and the CRM delivers again."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._on_queued: OnQueued | None = None

    def on_queued(self, hook: OnQueued) -> None:
        """Run ``hook`` inside every enqueue transaction that stored new events (with their crm and record
        ids): a job deferred there is committed with the events or not at all."""
        self._on_queued = hook

    def enqueue(self, crm: str, new: Sequence[NewEvent], *, now: datetime) -> Enqueued:
        """Store the events in one transaction; those whose key is already known are counted as duplicates."""
        return self.enqueue_many([(crm, new)], now=now)[0]

    @unavailable_on_failure
    def enqueue_many(
        self, deliveries: Sequence[tuple[str, Sequence[NewEvent]]], *, now: datetime
    ) -> list[Enqueued]:
        """Store several deliveries' events in one transaction (a group commit); one result per delivery.

        An event whose key is known, or repeated within the group, counts as a duplicate of the first.
        """
        rows = [_row(crm, event, now) for crm, new in deliveries for event in new]
        if not rows:
            return [Enqueued(0, 0) for _ in deliveries]
        with self._engine.begin() as db:
            inserted = _insert_unless_known(db, rows)
            if self._on_queued is not None and inserted:
                new_ids = [
                    (row["crm"], row["record_id"])
                    for row in rows
                    if (row["crm"], row["dedupe_key"]) in inserted
                ]
                self._on_queued(db, new_ids)
        results = []
        for crm, new in deliveries:
            keys = {(crm, event.dedupe_key) for event in new}
            mine = keys & inserted
            inserted -= mine
            results.append(Enqueued(queued=len(mine), duplicates=len(new) - len(mine)))
        return results

    def claim(
        self,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        crm: str | None = None,
        shard: Shard | None = None,
        owner: str | None = None,
    ) -> list[ClaimedEvent]:
        """Take up to ``limit`` due events, oldest first, for ``lease``; each claim counts as an attempt.
        ``owner`` (``host:pid:role``) is recorded, so that a restart on this host frees a dead owner's claims.

        ``crm`` and ``shard`` narrow the claim to one CRM's events and to one shard of its records (all events
        of one record fall in the same shard, so one drain job at a time handles a record)."""
        due = (
            select(events.c.id)
            .where(events.c.status == EventStatus.PENDING, events.c.next_attempt_at <= now)
            .order_by(events.c.id)
            .limit(limit)
        )
        if crm is not None:
            due = due.where(events.c.crm == crm)
        if shard is not None and shard.count > 1:
            due = due.where(self._shard_of(shard.count) == shard.index)
        if self._engine.dialect.name == "postgresql":
            # Several workers claim at once: each skips the rows another is claiming. The CTE is evaluated
            # once; as an ``IN`` subquery PostgreSQL may run it again per row and claim past the limit.
            locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
            chosen: Any = events.c.id.in_(select(locked.c.id))
        else:
            chosen = events.c.id.in_(due)
        claim = (
            update(events)
            .where(chosen, events.c.status == EventStatus.PENDING, events.c.next_attempt_at <= now)
            .values(attempts=events.c.attempts + 1, next_attempt_at=now + lease, claimed_by=owner)
            .returning(
                events.c.id, events.c.crm, events.c.object_type, events.c.record_id, events.c.kind,
                events.c.attempts, events.c.received_at,
            )
        )  # fmt: skip
        with self._engine.begin() as db:
            rows = db.execute(claim).all()
        return sorted((ClaimedEvent(**row._mapping) for row in rows), key=lambda e: e.id)

    def due_shards(self, *, now: datetime, shards: int) -> list[tuple[str, Shard]]:
        """The (CRM, shard) pairs that have due events: what the drain jobs must cover."""
        part = self._shard_of(shards) if shards > 1 else literal(0)
        query = (
            select(events.c.crm, part)
            .where(events.c.status == EventStatus.PENDING, events.c.next_attempt_at <= now)
            .group_by(events.c.crm, part)
        )
        with self._engine.connect() as db:
            return sorted((str(row[0]), Shard(int(row[1]), shards)) for row in db.execute(query))

    def shard_of(self, record_id: str, shards: int) -> int:
        """The shard of ``record_id`` among ``shards``, as the claims compute it."""
        if shards <= 1:
            return 0
        with self._engine.connect() as db:
            return int(db.execute(select(record_shard(literal(record_id), shards))).scalar_one())

    def _shard_of(self, shards: int) -> Any:
        if self._engine.dialect.name != "postgresql":
            raise ValueError("events are split into shards on PostgreSQL only (the workers' store)")
        return record_shard(events.c.record_id, shards)

    def done(self, ids: Iterable[int]) -> None:
        """Settle events: they stay as de-duplication memory until ``prune_done``."""
        self._set(ids, status=EventStatus.DONE, error_code=None, claimed_by=None)

    def claims(self, *, now: datetime) -> dict[str, dict[str, int]]:
        """Events being settled right now (claimed, lease not yet ended), per CRM and owner (``host:pid:role``
        of the ``serve`` or ``worker`` process holding them): who is working on what, for the admin page."""
        live = (
            (events.c.status == "pending")
            & events.c.claimed_by.is_not(None)
            & (events.c.next_attempt_at > now)
        )
        query = (
            select(events.c.crm, events.c.claimed_by, func.count())
            .where(live)
            .group_by(events.c.crm, events.c.claimed_by)
        )
        held: dict[str, dict[str, int]] = defaultdict(dict)
        with self._engine.connect() as db:
            for row in db.execute(query):
                held[str(row[0])][str(row[1])] = int(row[2])
        return dict(held)

    def release_abandoned(self, *, now: datetime, gone: Callable[[str], bool]) -> int:
        """Make the claimed events of owners that are ``gone`` (a killed ``serve``) due now instead of when
        their lease ends; return how many. The attempt they cost still counts, so an event that kills its
        worker every time still ends among the dead letters."""
        claimed = events.c.claimed_by.is_not(None) & (events.c.status == EventStatus.PENDING)
        with self._engine.begin() as db:
            owners: list[str] = list(
                db.execute(select(events.c.claimed_by).where(claimed).distinct()).scalars()
            )
            dead = [owner for owner in owners if gone(owner)]
            if not dead:
                return 0
            released = db.execute(
                update(events)
                .where(claimed, events.c.claimed_by.in_(dead), events.c.next_attempt_at > now)
                .values(next_attempt_at=now, claimed_by=None)
            ).rowcount
        return int(released)

    def fail(self, claimed: Sequence[ClaimedEvent], *, code: str, now: datetime, max_attempts: int) -> int:
        """Schedule another attempt after a backoff, or move to dead after ``max_attempts``; return how many died."""
        dead = [e.id for e in claimed if e.attempts >= max_attempts]
        by_delay: dict[timedelta, list[int]] = defaultdict(list)
        for event in claimed:
            if event.attempts < max_attempts:
                by_delay[retry_delay(event.attempts)].append(event.id)
        self._set(dead, status=EventStatus.DEAD, error_code=code, claimed_by=None)
        for delay, ids in by_delay.items():
            self._set(
                ids, status=EventStatus.PENDING, error_code=code, next_attempt_at=now + delay, claimed_by=None
            )
        return len(dead)

    def _set(self, ids: Iterable[int], **values: Any) -> None:
        wanted = list(ids)
        with self._engine.begin() as db:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                db.execute(update(events).where(events.c.id.in_(chunk)).values(**values))

    @unavailable_on_failure
    def depth(self, *, settled: bool = True) -> list[QueueDepth]:
        """Events per CRM and status; ``settled=False`` skips counting the done ones (cheap, for /metrics)."""
        query = select(events.c.crm, events.c.status, func.count()).group_by(events.c.crm, events.c.status)
        if not settled:
            query = query.where(events.c.status.in_((EventStatus.PENDING, EventStatus.DEAD)))
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        with self._engine.connect() as db:
            for row in db.execute(query):
                counts[str(row[0])][str(row[1])] = int(row[2])
        return [
            QueueDepth(
                crm, c.get(EventStatus.PENDING, 0), c.get(EventStatus.DEAD, 0), c.get(EventStatus.DONE, 0)
            )
            for crm, c in sorted(counts.items())
        ]

    @unavailable_on_failure
    def pending(self) -> int:
        query = select(func.count()).select_from(events).where(events.c.status == EventStatus.PENDING)
        with self._engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def dead_letters(self, crm: str | None = None, *, limit: int = 100) -> list[DeadLetter]:
        """The oldest dead events (ids, attempts, error codes)."""
        query = (
            select(
                events.c.id, events.c.crm, events.c.object_type, events.c.record_id, events.c.kind,
                events.c.attempts, events.c.received_at, events.c.error_code,
            )
            .where(events.c.status == EventStatus.DEAD)
            .order_by(events.c.id)
            .limit(limit)
        )  # fmt: skip
        if crm is not None:
            query = query.where(events.c.crm == crm)
        with self._engine.connect() as db:
            return [DeadLetter(**row._mapping) for row in db.execute(query)]

    def retry_dead(self, *, now: datetime, crm: str | None = None, ids: Sequence[int] = ()) -> int:
        """Give dead events (all, one CRM's, or the given ids) a fresh set of attempts, due now."""
        query = update(events).where(events.c.status == EventStatus.DEAD)
        if crm is not None:
            query = query.where(events.c.crm == crm)
        if ids:
            query = query.where(events.c.id.in_(list(ids)))
        with self._engine.begin() as db:
            result = db.execute(
                query.values(status=EventStatus.PENDING, attempts=0, next_attempt_at=now, error_code=None)
            )
        return int(result.rowcount)

    def prune_done(self, before: datetime) -> int:
        """Forget settled events received before ``before`` (after the CRMs' redelivery windows)."""
        query = delete(events).where(events.c.status == EventStatus.DONE, events.c.received_at < before)
        with self._engine.begin() as db:
            return int(db.execute(query).rowcount)


@dataclass(frozen=True, slots=True, order=True)
class Shard:
    """Shard ``index`` of ``count``: the records whose id hashes to ``index`` modulo ``count``."""

    index: int
    count: int


OnQueued = Callable[[Connection, Sequence[tuple[str, str]]], None]
"""Called in the enqueue transaction with the (crm, record id) of every event stored."""


def record_shard(record_id: Any, shards: int) -> Any:
    """PostgreSQL's stable text hash of the record id, modulo ``shards``."""
    return func.mod(func.abs(func.hashtext(record_id)), shards)


def _row(crm: str, event: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "crm": crm,
        "dedupe_key": event.dedupe_key,
        "object_type": event.object_type,
        "record_id": event.record_id,
        "kind": event.kind,
        "received_at": now,
        "status": EventStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def _insert_unless_known(db: Connection, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert the rows whose (crm, dedupe_key) is new, in one statement; return the keys inserted."""
    returned = (events.c.crm, events.c.dedupe_key)
    if db.dialect.name in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if db.dialect.name == "sqlite" else postgresql_insert
        statement = dialect_insert(events).on_conflict_do_nothing(index_elements=_KEY).returning(*returned)
        return {(row.crm, row.dedupe_key) for row in db.execute(statement, rows)}
    inserted = set()
    for row in rows:
        try:
            with db.begin_nested():
                db.execute(insert(events).values(**row))
        except IntegrityError:
            continue
        inserted.add((row["crm"], row["dedupe_key"]))
    return inserted
