"""The run log and the incremental cursors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from connector.crm.port import Cursor
from connector.store.failures import unavailable_on_failure
from connector.store.tables import cursors, runs

__all__ = ["Cursors", "RunKind", "RunLog", "RunOutcome", "RunRow"]


class RunKind(StrEnum):
    """What a run did; the ``kind`` column holds the value."""

    FULL = "full"
    """A sync that read every record."""
    INCREMENTAL = "incremental"
    """A sync that read the changes since the cursors."""
    DRY_RUN = "dry_run"
    """A sync that decided and wrote nothing."""
    SHARD = "shard"
    """One shard of a sharded full sync, run by a worker."""
    WEBHOOK = "webhook"
    """A worker's batch of webhook events."""


class RunOutcome(StrEnum):
    """How a run ended, or that it has not; the ``outcome`` column holds the value."""

    RUNNING = "running"
    """Not ended yet (or killed: ``close_abandoned`` marks it interrupted)."""
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    """Ctrl-C or SIGTERM: what the run owed (a full pull, due records) stays owed."""
    STOPPED = "stopped"
    """Quota spent or a limit reached: the next run resumes from the checkpoint."""
    REFUSED = "refused"
    """The blast-radius guard refused the plan."""
    FAILED = "failed"


_SYNCS = (RunKind.FULL, RunKind.INCREMENTAL)
"""The runs that read and write a whole CRM."""


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    crm: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    policy_id: str
    counts: Mapping[str, Any]
    mapping_hash: str | None = None
    as_of: date | None = None


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(
        self,
        crm: str,
        kind: RunKind,
        *,
        policy_id: str,
        now: datetime,
        mapping_hash: str | None = None,
        as_of: date | None = None,
    ) -> int:
        with self._engine.begin() as db:
            row = db.execute(
                insert(runs)
                .values(
                    crm=crm,
                    kind=kind,
                    started_at=now,
                    outcome=RunOutcome.RUNNING,
                    policy_id=policy_id,
                    counts={},
                    mapping_hash=mapping_hash,
                    as_of=as_of,
                )
                .returning(runs.c.id)
            ).one()
        return int(row.id)

    def full_run_owed(self, crm: str, mapping_hash: str) -> str | None:
        """Why the next sync of ``crm`` must read every record, or None when a completed full run under this
        mapping is on file. A full run that was interrupted, stopped or failed leaves it owed."""
        query = (
            select(runs.c.mapping_hash)
            .where(runs.c.crm == crm, runs.c.kind == RunKind.FULL, runs.c.outcome == RunOutcome.COMPLETED)
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as db:
            last = db.execute(query).first()
        if last is None:
            return "no full run of this CRM has completed on this store yet"
        if last.mapping_hash != mapping_hash:
            return "the mapping changed since the last completed full run, and new facts need the raw fields"
        return None

    def finish(self, run_id: int, *, outcome: RunOutcome, counts: Mapping[str, Any], now: datetime) -> None:
        with self._engine.begin() as db:
            db.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(finished_at=now, outcome=outcome, counts=dict(counts))
            )

    def close_abandoned(self, *, now: datetime, alive: Callable[[str], bool]) -> int:
        """Mark ``interrupted`` every sync run still ``running`` whose CRM's sync lease nobody alive holds: its
        process was killed, so it will never record its own end. ``alive(crm)`` says whether a live process
        holds that CRM's lease. Returns how many were closed."""
        query = select(runs.c.id, runs.c.crm).where(
            runs.c.outcome == RunOutcome.RUNNING, runs.c.kind.in_((*_SYNCS, RunKind.DRY_RUN))
        )
        with self._engine.begin() as db:
            stale = [row.id for row in db.execute(query) if not alive(row.crm)]
            if stale:
                db.execute(
                    update(runs)
                    .where(runs.c.id.in_(stale))
                    .values(outcome=RunOutcome.INTERRUPTED, finished_at=now)
                )
        return len(stale)

    def recent(self, crm: str | None = None, *, limit: int = 20) -> list[RunRow]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if crm is not None:
            query = query.where(runs.c.crm == crm)
        with self._engine.connect() as db:
            return [RunRow(**row._mapping) for row in db.execute(query)]

    @unavailable_on_failure
    def last_completed(self) -> dict[tuple[str, str], datetime]:
        """When the latest completed sync of each (CRM, kind) finished: ``full``, ``incremental`` and ``shard``
        (one shard of a sharded full sync) runs; one grouped query, for ``/metrics``."""
        query = (
            select(runs.c.crm, runs.c.kind, func.max(runs.c.finished_at).label("finished_at"))
            .where(runs.c.outcome == RunOutcome.COMPLETED, runs.c.kind.in_((*_SYNCS, RunKind.SHARD)))
            .group_by(runs.c.crm, runs.c.kind)
        )
        with self._engine.connect() as db:
            rows = db.execute(query).all()
        return {(row.crm, row.kind): row.finished_at for row in rows if row.finished_at is not None}

    def has_completed(self, crm: str) -> bool:
        """Whether any sync of ``crm`` has finished with its flags written (the guard skips the first run)."""
        query = select(runs.c.id).where(
            runs.c.crm == crm, runs.c.outcome == RunOutcome.COMPLETED, runs.c.kind.in_(_SYNCS)
        )
        with self._engine.connect() as db:
            return db.execute(query.limit(1)).first() is not None


class Cursors:
    """Where each CRM object's incremental pull resumes. Saved only after a page is fully handled."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, crm: str, object_type: str) -> Cursor | None:
        query = select(cursors).where(cursors.c.crm == crm, cursors.c.object_type == object_type)
        with self._engine.connect() as db:
            row = db.execute(query).first()
        if row is None:
            return None
        extra = {name: _restored(name, value) for name, value in (row.extra or {}).items()}
        return Cursor(object_type=object_type, modified=row.modified, last_id=row.last_id, **extra)

    def save(self, crm: str, cursor: Cursor, *, run_id: int, now: datetime) -> None:
        extra = {
            f.name: _jsonable(getattr(cursor, f.name))
            for f in dataclasses.fields(cursor)
            if f.name not in ("object_type", "modified", "last_id")
        }
        values = {
            "modified": cursor.modified,
            "last_id": cursor.last_id,
            "extra": extra or None,
            "run_id": run_id,
            "saved_at": now,
        }
        key = (cursors.c.crm == crm) & (cursors.c.object_type == cursor.object_type)
        with self._engine.begin() as db:
            if db.execute(update(cursors).where(key).values(**values)).rowcount == 0:
                db.execute(insert(cursors).values(crm=crm, object_type=cursor.object_type, **values))

    def reset(self, crm: str) -> None:
        with self._engine.begin() as db:
            db.execute(cursors.delete().where(cursors.c.crm == crm))


_MOMENTS = ("own_writes_from", "own_writes_until", "consents_from")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _restored(name: str, value: Any) -> Any:
    """A cursor's extra value as the Cursor holds it (times from ISO text, id lists as tuples)."""
    if name in _MOMENTS and value:
        return datetime.fromisoformat(value)
    return tuple(value) if isinstance(value, list) else value
