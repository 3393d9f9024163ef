"""The decision audit: why each record's flags have their values, under which policy, and what was written.

A new entry is kept only when a record's facts, decision or write outcome changed since its last entry, so a
nightly run over an unchanged org adds nothing; every write has its own entry. Deletion and retention remove
entries; the latest entry of a record that still exists survives retention (it is the evidence for its current
flags).

No write goes unrecorded, even when the process dies at any instruction: before values are sent to the CRM,
each record gets a ``pending`` entry holding them (``intend``, committed first). The write's outcome turns it
into the record's entry (``record(..., pending=...)``); after a crash the next run reads those records back
and settles each as written or not (``unsettled``, ``settle``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update

from connector.models import ContactFacts, Decision
from connector.store.engine import scrub
from connector.store.kept import Kept
from connector.store.packing import pack_shared, unpack
from connector.store.runs import RunOutcome
from connector.store.tables import decided_under, decisions, events, record_states, runs

__all__ = ["INTERRUPTED", "Audit", "AuditEntry", "AuditRow", "Grounds", "PendingWrite", "Refusal"]
__all__ += ["WriteStatus"]


class WriteStatus(StrEnum):
    """What became of a decision's write; the ``write_status`` column holds the value."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    """Nothing to write: the CRM holds the decided flags."""
    PLANNED = "planned"
    """A dry run's write, not sent."""
    FAILED = "failed"
    """Not written now (a lock held past every retry, an interrupted write): the next run tries again."""
    REFUSED = "refused"
    """The CRM refused the values (a validation rule, a required field, a duplicate rule): tried again a few
    times, then only when the record changes (``Audit.refusals``). Every refusal keeps its own entry."""
    GONE = "gone"
    """The record was deleted (or merged away) before the write."""
    PENDING = "pending"
    """The values were (or were about to be) sent, with no outcome known yet."""


_SETTLED: dict[str, str] = dict.fromkeys(
    (WriteStatus.WRITTEN, WriteStatus.UNCHANGED, WriteStatus.PENDING), "settled"
)
"""Statuses that leave the flags as decided. A write held for a bulk job is recorded as ``pending`` and
fingerprinted as written; ``settle_writes`` gives one that was not written the fingerprint of its failure."""
_SENT = (WriteStatus.WRITTEN, WriteStatus.PENDING)
"""Statuses of entries whose values were sent."""
INTERRUPTED = "INTERRUPTED"
"""The error code of a pending entry settled as not written: the CRM does not hold the values it was sent."""
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Grounds:
    """What a record's decision rests on besides its facts and the policy: the mapping that made the facts, the
    register versions its numbers were screened against, and the keyed hashes of those numbers (never a
    number). ``phones`` None = unknown (decided before the store kept them); empty = no valid number."""

    mapping_hash: str | None = None
    screened_with: str | None = None
    phones: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    object_type: str
    record_id: str
    facts: ContactFacts
    decision: Decision
    write_status: WriteStatus
    """``pending`` before the write is sent (see ``Audit.intend``)."""
    written: Mapping[str, Any] | None = None
    """The values written (while pending: those being sent)."""
    error_code: str | None = None
    grounds: Grounds = Grounds()
    kept: Kept = field(default_factory=Kept, compare=False, repr=False)
    """Its facts and decision as stored, computed once: an entry remade with another outcome
    (``dataclasses.replace``) shares it."""

    def state(self) -> dict[str, Any]:
        """The record_states columns that say what the current flags rest on (see ``Grounds``)."""
        grounds = self.grounds
        phones = grounds.phones
        return {
            "valid_until": self.decision.valid_until,
            "policy_id": self.decision.policy,
            "mapping_hash": grounds.mapping_hash,
            "screened_with": grounds.screened_with if phones else None,
            "phones": [list(number) for number in phones] if phones is not None else None,
        }


_STATE_COLUMNS = ("valid_until", "policy_id", "mapping_hash", "screened_with", "phones")
_STORED_COLUMNS = ("valid_until", "decided_under", "screened_with", "phones")
"""The record_states columns that keep the state: policy id and mapping hash as one ``decided_under`` row."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    crm: str
    object_type: str
    record_id: str
    run_id: int
    decided_at: datetime
    policy_id: str
    facts: Mapping[str, Any]
    decision: Mapping[str, Any]
    write_status: str
    written: Mapping[str, Any] | None
    error_code: str | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record whose latest write the CRM refused: the code, and how many of its latest entries in a row are
    refusals (the attempts since its last write went through or its last other outcome)."""

    record_id: str
    object_type: str
    code: str | None
    times: int
    last: datetime
    """When the latest refused write was sent."""


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A pending entry left by a run that did not learn its write's outcome: the values it sent."""

    id: int
    record_id: str
    values: Mapping[str, Any]
    kept_at: datetime
    """When the entry was kept, just before its write was sent."""
    run_open: bool
    """Whether its run is still recorded as running: its write may still be in flight (a live worker's)."""


_STATE_KEY = (record_states.c.crm == bindparam("b_crm")) & (
    record_states.c.record_id == bindparam("b_record_id")
)


def _state_differs(stored: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    return any(stored[name] != state[name] for name in _STATE_COLUMNS)


def _kept(entry: AuditEntry) -> Kept:
    """The entry's facts and decision as stored (JSON, packed, fingerprinted)."""
    return entry.kept.of(entry.facts, entry.decision, entry.record_id)


def _written(entry: AuditEntry) -> bytes | None:
    return pack_shared(entry.written) if entry.written is not None else None


def _fingerprint(kept: Kept, status: str) -> str:
    return kept.fingerprint(_SETTLED.get(status, status))


def _prepared(
    entries: Sequence[AuditEntry], if_failed: dict[str, str] | None
) -> list[tuple[AuditEntry, Kept, str]]:
    """Each entry with its kept form and fingerprint; `if_failed` gets a pending entry's fingerprint should
    its write fail."""
    prepared = []
    for entry in entries:
        kept = _kept(entry)
        prepared.append((entry, kept, _fingerprint(kept, entry.write_status)))
        if if_failed is not None and entry.write_status == WriteStatus.PENDING:
            if_failed[entry.record_id] = _fingerprint(kept, WriteStatus.FAILED)
    return prepared


def _inserted(db: Any, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert entries; record id -> entry id (a record's last entry where it has several). Entries of distinct
    records need no order, since each returned row names its record: they go in multi-row batches (SQLite
    would otherwise insert them one statement a row to keep the order)."""
    distinct = len({row["record_id"] for row in rows}) == len(rows)
    statement = insert(decisions).returning(
        decisions.c.record_id, decisions.c.id, sort_by_parameter_order=not distinct
    )
    return {row.record_id: row.id for row in db.execute(statement, rows)}


def _audit_row(row: Any) -> AuditRow:
    """An entry as kept, its packed values read back (the policy id is the decision's)."""
    decision = unpack(row.decision, row.record_id)
    return AuditRow(
        id=row.id,
        crm=row.crm,
        object_type=row.object_type,
        record_id=row.record_id,
        run_id=row.run_id,
        decided_at=row.decided_at,
        policy_id=decision["policy"],
        facts=unpack(row.facts, row.record_id),
        decision=decision,
        write_status=row.write_status,
        written=unpack(row.written) if row.written is not None else None,
        error_code=row.error_code,
    )


class Audit:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._under: dict[tuple[str | None, str | None], int] = {}

    def _stored(self, db: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """A record's state (``AuditEntry.state``) as record_states keeps it."""
        stored = {name: state[name] for name in _STORED_COLUMNS if name in state}
        stored["decided_under"] = self._decided_under(db, state["policy_id"], state["mapping_hash"])
        return stored

    def _decided_under(self, db: Any, policy_id: str | None, mapping_hash: str | None) -> int | None:
        """The id of the ``decided_under`` row of this policy id and mapping hash, added when new. Only ids
        read back are remembered (an id added in a transaction that rolls back would name nothing); two
        processes adding the same pair at once each get a row, which reads the same."""
        if policy_id is None and mapping_hash is None:
            return None
        key = (policy_id, mapping_hash)
        if key in self._under:
            return self._under[key]
        query = (
            select(decided_under.c.id)
            .where(
                decided_under.c.policy_id.is_not_distinct_from(policy_id),
                decided_under.c.mapping_hash.is_not_distinct_from(mapping_hash),
            )
            .order_by(decided_under.c.id)
            .limit(1)
        )
        found = db.execute(query).scalar()
        if found is not None:
            self._under[key] = int(found)
            return int(found)
        added = insert(decided_under).values(policy_id=policy_id, mapping_hash=mapping_hash)
        return int(db.execute(added.returning(decided_under.c.id)).scalar_one())

    def intend(
        self, crm: str, run_id: int, entries: Sequence[AuditEntry], *, now: datetime
    ) -> dict[str, int]:
        """Keep a ``pending`` entry for each record about to be written, holding the values it is sent, and
        commit them before the write goes out. Returns record id -> entry id, for ``record(pending=...)``."""
        if not entries:
            return {}
        rows = self._intended(crm, run_id, entries, now=now)
        with self._engine.begin() as db:
            return _inserted(db, rows)

    def _intended(
        self, crm: str, run_id: int, entries: Sequence[AuditEntry], *, now: datetime
    ) -> list[dict[str, Any]]:
        """The pending entries' rows; each entry's kept form remembers the values it intends to write."""
        rows = []
        for entry in entries:
            kept = _kept(entry)
            rows.append(self._row(crm, run_id, entry, kept, now=now))
            kept.intended = entry.written
        return rows

    def hold(
        self,
        crm: str,
        run_id: int,
        intents: Sequence[AuditEntry],
        entries: Sequence[AuditEntry],
        *,
        now: datetime,
        if_failed: dict[str, str],
    ) -> tuple[dict[str, int], int]:
        """``intend`` then ``record`` in one transaction, for a page whose writes are held for later (the run's
        write buffer): nothing is sent before both are committed, so their pending entries are kept as surely
        as ``intend``'s, for one commit instead of two. Returns the pending entry ids and how many were kept."""
        rows = self._intended(crm, run_id, intents, now=now)
        prepared = _prepared(entries, if_failed)
        with self._engine.begin() as db:
            pending = _inserted(db, rows) if rows else {}
            kept = self._record(db, crm, run_id, prepared, now=now, pending=pending)
        return pending, kept

    def record(
        self,
        crm: str,
        run_id: int,
        entries: Sequence[AuditEntry],
        *,
        now: datetime,
        pending: Mapping[str, int] | None = None,
        if_failed: dict[str, str] | None = None,
    ) -> int:
        """Keep the entries whose record changed since its last entry, and every write; return how many were kept.

        ``if_failed`` receives, for each ``pending`` entry (a write held for a bulk job), the fingerprint its
        record gets should the write fail, for ``settle_writes``.

        An entry whose record has a ``pending`` entry (record id -> entry id, from ``intend``) settles it: the
        pending entry becomes this one, or is dropped when this one adds nothing. Every entry also refreshes
        what its record's flags rest on (expiry, policy, mapping, screening) where that changed, so a record
        decided again with the same outcome is no longer due."""
        prepared = _prepared(entries, if_failed)
        with self._engine.begin() as db:
            return self._record(db, crm, run_id, prepared, now=now, pending=pending)

    def _record(
        self,
        db: Any,
        crm: str,
        run_id: int,
        prepared: Sequence[tuple[AuditEntry, Kept, str]],
        *,
        now: datetime,
        pending: Mapping[str, int] | None,
    ) -> int:
        pending = pending or {}
        known = self._known(db, crm, [e.record_id for e, *_ in prepared])
        fresh: dict[str, tuple[AuditEntry, Kept, str]] = {}
        restated: dict[str, AuditEntry] = {}
        for item in prepared:
            entry, _, fingerprint = item
            stored = known.get(entry.record_id)
            sent = entry.write_status in _SENT or entry.write_status == WriteStatus.REFUSED
            # every write keeps its own entry, and so does every refusal (counted by ``refusals``)
            if sent or stored is None or stored["fingerprint"] != fingerprint:
                fresh[entry.record_id] = item  # the last entry of a record in one batch wins
                restated.pop(entry.record_id, None)
            elif entry.record_id not in fresh and _state_differs(stored, entry.state()):
                restated[entry.record_id] = entry
        if restated:
            self._restate(db, crm, restated.values())
        given = {entry.record_id for entry, *_ in prepared}  # the others' outcomes are not known yet
        superseded = [pending[record_id] for record_id in given & pending.keys() if record_id not in fresh]
        if superseded:
            db.execute(delete(decisions).where(decisions.c.id.in_(superseded)))
        if not fresh:
            return 0
        ids = self._settle_or_insert(db, crm, run_id, fresh, pending, now=now)
        states = [
            {
                "crm": crm,
                "record_id": record_id,
                "object_type": entry.object_type,
                "fingerprint": fingerprint,
                "decision_id": ids[record_id],
                **self._stored(db, entry.state()),
            }
            for record_id, (entry, _, fingerprint) in fresh.items()
        ]
        updates = [row for row in states if row["record_id"] in known]
        inserts = [row for row in states if row["record_id"] not in known]
        if inserts:
            db.execute(insert(record_states), inserts)
        if updates:
            db.execute(
                update(record_states)
                .where(_STATE_KEY)
                .values(
                    fingerprint=bindparam("fingerprint"),
                    decision_id=bindparam("decision_id"),
                    object_type=bindparam("object_type"),
                    **{name: bindparam(name) for name in _STORED_COLUMNS},
                ),
                [{"b_crm": row["crm"], "b_record_id": row["record_id"], **row} for row in updates],
            )
        return len(fresh)

    def _settle_or_insert(
        self,
        db: Any,
        crm: str,
        run_id: int,
        fresh: Mapping[str, tuple[AuditEntry, Kept, str]],
        pending: Mapping[str, int],
        *,
        now: datetime,
    ) -> dict[str, int]:
        """Turn the pending entries of ``fresh`` records into their entries, insert the others; record id ->
        entry id. A pending entry that stays pending with the values it was kept with (a write held for a bulk
        job) already is its entry."""
        settled = []
        for record_id, (entry, kept, _) in fresh.items():
            if record_id not in pending:
                continue
            if (
                entry.write_status == WriteStatus.PENDING
                and entry.error_code is None
                and (entry.written is not None and entry.written == kept.intended)
            ):
                continue
            settled.append({"b_id": pending[record_id], "write_status": entry.write_status,
                            "written": _written(entry), "error_code": entry.error_code})  # fmt: skip
        if settled:
            db.execute(
                update(decisions)
                .where(decisions.c.id == bindparam("b_id"))
                .values(
                    write_status=bindparam("write_status"),
                    written=bindparam("written"),
                    error_code=bindparam("error_code"),
                ),
                settled,
            )
        ids = {record_id: pending[record_id] for record_id in fresh if record_id in pending}
        rows = [
            self._row(crm, run_id, entry, kept, now=now)
            for record_id, (entry, kept, _) in fresh.items()
            if record_id not in pending
        ]
        if rows:
            ids.update(_inserted(db, rows))
        return ids

    @staticmethod
    def _row(
        crm: str,
        run_id: int,
        entry: AuditEntry,
        kept: Kept,
        *,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "crm": crm,
            "object_type": entry.object_type,
            "record_id": entry.record_id,
            "run_id": run_id,
            "decided_at": now,
            "lawful_use": kept.lawful_use,
            "review_needed": kept.review_needed,
            "facts": kept.packed_facts,
            "decision": kept.packed_decision,
            "write_status": entry.write_status,
            "written": _written(entry),
            "error_code": entry.error_code,
        }

    def unsettled(self, crm: str, object_type: str, *, limit: int) -> list[PendingWrite]:
        """The pending entries of ``crm``'s ``object_type`` records (oldest first): writes whose outcome a run
        did not learn, because it died or its connection broke. The next run reads them back and settles them."""
        query = (
            select(
                decisions.c.id,
                decisions.c.record_id,
                decisions.c.written,
                decisions.c.decided_at,
                (runs.c.outcome == RunOutcome.RUNNING).label("run_open"),
            )
            .outerjoin(runs, runs.c.id == decisions.c.run_id)
            .where(
                decisions.c.crm == crm,
                decisions.c.object_type == object_type,
                decisions.c.write_status == WriteStatus.PENDING,
            )
            .order_by(decisions.c.id)
            .limit(limit)
        )
        with self._engine.connect() as db:
            return [
                PendingWrite(
                    row.id,
                    row.record_id,
                    unpack(row.written) if row.written is not None else {},
                    row.decided_at,
                    bool(row.run_open),
                )
                for row in db.execute(query)
            ]

    def settle(self, outcomes: Mapping[int, bool]) -> int:
        """Settle pending entries (entry id -> whether the CRM holds the values they were sent): ``written``,
        or ``failed`` with code ``INTERRUPTED``. Entries settled already are left alone; returns how many
        were settled."""
        written = [entry_id for entry_id, held in outcomes.items() if held]
        lost = [entry_id for entry_id, held in outcomes.items() if not held]
        settled = 0
        with self._engine.begin() as db:
            for start in range(0, max(len(written), len(lost)), _CHUNK):
                unsettled = decisions.c.write_status == WriteStatus.PENDING
                settled += db.execute(
                    update(decisions)
                    .where(decisions.c.id.in_(written[start : start + _CHUNK]), unsettled)
                    .values(write_status=WriteStatus.WRITTEN)
                ).rowcount
                settled += db.execute(
                    update(decisions)
                    .where(decisions.c.id.in_(lost[start : start + _CHUNK]), unsettled)
                    .values(write_status=WriteStatus.FAILED, error_code=INTERRUPTED, written=None)
                ).rowcount
        return settled

    def _restate(self, db: Any, crm: str, entries: Iterable[AuditEntry]) -> None:
        rows = [
            {"b_crm": crm, "b_record_id": entry.record_id, **self._stored(db, entry.state())}
            for entry in entries
        ]
        db.execute(
            update(record_states)
            .where(_STATE_KEY)
            .values(**{name: bindparam(name) for name in _STORED_COLUMNS}),
            rows,
        )

    @staticmethod
    def _known(db: Any, crm: str, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Fingerprint and state of each record already on file."""
        ids = list(dict.fromkeys(record_ids))
        found: dict[str, dict[str, Any]] = {}
        columns = [record_states.c.record_id, record_states.c.fingerprint, record_states.c.valid_until]
        columns += [decided_under.c.policy_id, decided_under.c.mapping_hash]
        columns += [record_states.c.screened_with, record_states.c.phones]
        joined = record_states.outerjoin(decided_under, decided_under.c.id == record_states.c.decided_under)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            query = (
                select(*columns)
                .select_from(joined)
                .where(record_states.c.crm == crm, record_states.c.record_id.in_(chunk))
            )
            found.update({row.record_id: dict(row._mapping) for row in db.execute(query)})
        return found

    def history(self, crm: str, record_id: str) -> list[AuditRow]:
        query = (
            select(decisions)
            .where(decisions.c.crm == crm, decisions.c.record_id == record_id)
            .order_by(decisions.c.id)
        )
        with self._engine.connect() as db:
            return [_audit_row(row) for row in db.execute(query)]

    def forget(self, crm: str, record_id: str) -> int:
        """Erase everything stored about one person: audit entries, fingerprint, queued events."""
        with self._engine.begin() as db:
            erased = db.execute(
                delete(decisions).where(decisions.c.crm == crm, decisions.c.record_id == record_id)
            ).rowcount
            db.execute(
                delete(record_states).where(
                    record_states.c.crm == crm, record_states.c.record_id == record_id
                )
            )
            db.execute(delete(events).where(events.c.crm == crm, events.c.record_id == record_id))
        scrub(self._engine)
        return int(erased)

    def prune(self, before: datetime) -> int:
        """Delete entries decided before ``before``, except each live record's latest entry."""
        latest = select(record_states.c.decision_id)
        with self._engine.begin() as db:
            result = db.execute(
                delete(decisions).where(
                    decisions.c.decided_at < before,
                    decisions.c.id.not_in(latest),
                    # unsettled: the next run's evidence to settle
                    decisions.c.write_status != WriteStatus.PENDING,
                )
            )
        if result.rowcount:
            scrub(self._engine)
        return int(result.rowcount)

    def written_since(self, crm: str, record_ids: Iterable[str], *, since: datetime) -> set[str]:
        """The ids among ``record_ids`` with a write kept at or after ``since`` (written, or still pending):
        records whose latest values a CRM's lagging search index may not show yet."""
        ids = list(dict.fromkeys(record_ids))
        found: set[str] = set()
        with self._engine.connect() as db:
            for start in range(0, len(ids), _CHUNK):
                query = select(decisions.c.record_id).where(
                    decisions.c.crm == crm,
                    decisions.c.record_id.in_(ids[start : start + _CHUNK]),
                    decisions.c.write_status.in_(_SENT),
                    decisions.c.decided_at >= since,
                )
                found.update(row.record_id for row in db.execute(query))
        return found

    def settle_writes(self, outcomes: Mapping[int, tuple[str, str | None, str]]) -> int:
        """Settle pending entries with the outcome their write got later (a bulk job's results): entry id ->
        (``written``, ``failed`` or ``gone``, error code, the fingerprint ``record`` gave for a failure).

        As ``record`` would have kept a collection write's outcome: a written entry keeps the values sent; a
        failed or gone one drops them, and its record's fingerprint becomes the failure's; a failure that
        repeats the record's previous entry (same facts and decision, failed too) is not kept, that entry stays
        the record's. Entries settled already are left alone; returns how many were settled."""
        ids = list(outcomes)
        settled = 0
        with self._engine.begin() as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = [entry_id for entry_id in ids[start : start + _CHUNK]]
                rows = {
                    row.id: row
                    for row in db.execute(
                        select(decisions.c.id, decisions.c.crm, decisions.c.record_id, decisions.c.facts,
                               decisions.c.decision)
                        .where(decisions.c.id.in_(chunk), decisions.c.write_status == WriteStatus.PENDING)
                    )
                }  # fmt: skip
                written = [entry_id for entry_id in rows if outcomes[entry_id][0] == WriteStatus.WRITTEN]
                if written:
                    db.execute(
                        update(decisions)
                        .where(decisions.c.id.in_(written))
                        .values(write_status=WriteStatus.WRITTEN)
                    )
                others = [entry_id for entry_id in rows if outcomes[entry_id][0] != WriteStatus.WRITTEN]
                repeats = self._repeated_failures(db, [rows[entry_id] for entry_id in others], outcomes)
                if others:
                    db.execute(
                        update(decisions)
                        .where(decisions.c.id == bindparam("b_id"))
                        .values(
                            write_status=bindparam("b_status"), error_code=bindparam("b_code"), written=None
                        ),
                        [{"b_id": i, "b_status": outcomes[i][0], "b_code": outcomes[i][1]} for i in others],
                    )
                    db.execute(
                        update(record_states)
                        .where(record_states.c.decision_id == bindparam("b_id"))
                        .values(fingerprint=bindparam("b_fingerprint"), decision_id=bindparam("b_keep")),
                        [
                            {"b_id": i, "b_fingerprint": outcomes[i][2], "b_keep": repeats.get(i, i)}
                            for i in others
                        ],
                    )
                if repeats:
                    db.execute(delete(decisions).where(decisions.c.id.in_(list(repeats))))
                settled += len(rows)
        return settled

    @staticmethod
    def _repeated_failures(
        db: Any, rows: Sequence[Any], outcomes: Mapping[int, tuple[str, str | None, str]]
    ) -> dict[int, int]:
        """Entry id -> the record's previous entry id, for failures that repeat it (as ``record`` drops them)."""
        failed = [row for row in rows if outcomes[row.id][0] == WriteStatus.FAILED]
        repeats: dict[int, int] = {}
        for row in failed:
            previous = db.execute(
                select(decisions.c.id, decisions.c.facts, decisions.c.decision, decisions.c.write_status)
                .where(
                    decisions.c.crm == row.crm,
                    decisions.c.record_id == row.record_id,
                    decisions.c.id < row.id,
                )
                .order_by(decisions.c.id.desc())
                .limit(1)
            ).first()
            if (
                previous is not None and previous.write_status == WriteStatus.FAILED
                and previous.facts == row.facts and previous.decision == row.decision
            ):  # fmt: skip
                repeats[row.id] = previous.id
        return repeats

    def failed(self, crm: str, object_type: str, *, limit: int) -> list[str]:
        """Ids of records whose latest entry is a failed or refused write (oldest first): the next run reads them
        again, since its cursor has moved past them (refused ones only a few times: see ``refusals``)."""
        query = (
            select(record_states.c.record_id)
            .join(decisions, decisions.c.id == record_states.c.decision_id)
            .where(
                record_states.c.crm == crm,
                record_states.c.object_type == object_type,
                decisions.c.write_status.in_((WriteStatus.FAILED, WriteStatus.REFUSED)),
            )
            .order_by(record_states.c.decision_id)
            .limit(limit)
        )
        with self._engine.connect() as db:
            return [row.record_id for row in db.execute(query)]

    def refusals(self, crm: str, object_type: str | None = None, *, more_than: int = 0) -> list[Refusal]:
        """The records of ``crm`` whose latest write the CRM refused, with the code and how many of their latest
        entries in a row are refusals, oldest first: only those refused more than ``more_than`` times in a row.

        A refused record is tried again by the next runs; once refused more times in a row than the sync's
        ``refused_retries`` it is parked (shown to the admin), and tried again only when it changes in the CRM
        (a pull reads it), under another policy, or by a full run. A write that goes through ends the row."""
        latest, earlier, other = (
            decisions.alias("latest"),
            decisions.alias("earlier"),
            decisions.alias("other"),
        )
        row_began = (
            select(func.coalesce(func.max(other.c.id), 0))
            .where(
                other.c.crm == record_states.c.crm,
                other.c.record_id == record_states.c.record_id,
                other.c.write_status.not_in((WriteStatus.REFUSED, WriteStatus.PENDING)),
            )
            .scalar_subquery()
        )
        times = func.count(earlier.c.id)
        query = (
            select(
                record_states.c.record_id, record_states.c.object_type, latest.c.error_code,
                latest.c.decided_at, times.label("times"),
            )
            .select_from(record_states)
            .join(latest, latest.c.id == record_states.c.decision_id)
            .join(
                earlier,
                (earlier.c.crm == record_states.c.crm) & (earlier.c.record_id == record_states.c.record_id),
            )
            .where(
                record_states.c.crm == crm,
                latest.c.write_status == WriteStatus.REFUSED,
                earlier.c.write_status == WriteStatus.REFUSED,
                earlier.c.id > row_began,
            )
            .group_by(
                record_states.c.record_id, record_states.c.object_type, latest.c.error_code,
                latest.c.decided_at, record_states.c.decision_id,
            )
            .having(times > more_than)
            .order_by(record_states.c.decision_id)
        )  # fmt: skip
        if object_type is not None:
            query = query.where(record_states.c.object_type == object_type)
        with self._engine.connect() as db:
            return [
                Refusal(row.record_id, row.object_type, row.error_code, int(row.times), row.decided_at)
                for row in db.execute(query)
            ]

    def managed_ids(self, crm: str, object_type: str, *, after: str = "", limit: int = 10_000) -> list[str]:
        """The ids of ``object_type`` records of ``crm`` with a decision on file, after ``after`` in id
        order, at most ``limit`` (page on with the last id)."""
        query = (
            select(record_states.c.record_id)
            .where(
                record_states.c.crm == crm,
                record_states.c.object_type == object_type,
                record_states.c.record_id > after,
            )
            .order_by(record_states.c.record_id)
            .limit(limit)
        )
        with self._engine.connect() as db:
            return [row.record_id for row in db.execute(query)]

    def managed(self, crm: str) -> int:
        """How many records of ``crm`` have a decision on file."""
        query = select(func.count()).select_from(record_states).where(record_states.c.crm == crm)
        with self._engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def count(self, crm: str | None = None) -> int:
        query = select(func.count()).select_from(decisions)
        if crm is not None:
            query = query.where(decisions.c.crm == crm)
        with self._engine.connect() as db:
            return int(db.execute(query).scalar_one())
