"""The decision audit: why each record's flags have their values, under which policy, and what was written.

A new entry is kept only when a record's facts, decision or write outcome changed since its last entry, so a
nightly run over an unchanged org adds nothing. Deletion and retention remove entries; the latest entry of a
record that still exists survives retention (it is the evidence for its current flags).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update

from connector.models import ContactFacts, Decision
from connector.store.engine import scrub
from connector.store.tables import decisions, events, record_states

__all__ = ["Audit", "AuditEntry", "AuditRow", "Grounds"]

_SETTLED = {"written": "settled", "unchanged": "settled"}
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
    write_status: str
    """``written``, ``unchanged``, ``failed`` or ``gone``."""
    written: Mapping[str, Any] | None = None
    error_code: str | None = None
    grounds: Grounds = Grounds()

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


_STATE_KEY = (record_states.c.crm == bindparam("b_crm")) & (
    record_states.c.record_id == bindparam("b_record_id")
)


def _state_differs(stored: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    return any(stored[name] != state[name] for name in _STATE_COLUMNS)


def _fingerprint(facts: Mapping[str, Any], decision: Mapping[str, Any], status: str) -> str:
    text = json.dumps([facts, decision, _SETTLED.get(status, status)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Audit:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, crm: str, run_id: int, entries: Sequence[AuditEntry], *, now: datetime) -> int:
        """Keep the entries whose record changed since its last entry; return how many were kept.

        Every entry also refreshes what its record's flags rest on (expiry, policy, mapping, screening) where
        that changed, so a record decided again with the same outcome is no longer due."""
        prepared = []
        for entry in entries:
            facts = entry.facts.model_dump(mode="json", exclude_defaults=True)
            decision = entry.decision.model_dump(mode="json")
            prepared.append((entry, facts, decision, _fingerprint(facts, decision, entry.write_status)))
        with self._engine.begin() as db:
            known = self._known(db, crm, [e.record_id for e, *_ in prepared])
            fresh: dict[str, tuple[AuditEntry, dict[str, Any], dict[str, Any], str]] = {}
            restated: dict[str, AuditEntry] = {}
            for item in prepared:
                entry, fingerprint = item[0], item[3]
                stored = known.get(entry.record_id)
                if stored is None or stored["fingerprint"] != fingerprint:
                    fresh[entry.record_id] = item  # the last entry of a record in one batch wins
                    restated.pop(entry.record_id, None)
                elif entry.record_id not in fresh and _state_differs(stored, entry.state()):
                    restated[entry.record_id] = entry
            if restated:
                self._restate(db, crm, restated.values())
            if not fresh:
                return 0
            inserted = db.execute(
                insert(decisions).returning(
                    decisions.c.record_id, decisions.c.id, sort_by_parameter_order=True
                ),
                [
                    {
                        "crm": crm,
                        "object_type": entry.object_type,
                        "record_id": entry.record_id,
                        "run_id": run_id,
                        "decided_at": now,
                        "policy_id": entry.decision.policy,
                        "facts": facts,
                        "decision": decision,
                        "write_status": entry.write_status,
                        "written": dict(entry.written) if entry.written is not None else None,
                        "error_code": entry.error_code,
                    }
                    for entry, facts, decision, _ in fresh.values()
                ],
            )
            ids = {row.record_id: row.id for row in inserted}
            states = [
                {
                    "crm": crm,
                    "record_id": record_id,
                    "object_type": entry.object_type,
                    "fingerprint": fingerprint,
                    "decision_id": ids[record_id],
                    **entry.state(),
                }
                for record_id, (entry, _, _, fingerprint) in fresh.items()
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
                        **{name: bindparam(name) for name in _STATE_COLUMNS},
                    ),
                    [{"b_crm": row["crm"], "b_record_id": row["record_id"], **row} for row in updates],
                )
        return len(fresh)

    @staticmethod
    def _restate(db: Any, crm: str, entries: Iterable[AuditEntry]) -> None:
        rows = [{"b_crm": crm, "b_record_id": entry.record_id, **entry.state()} for entry in entries]
        db.execute(
            update(record_states)
            .where(_STATE_KEY)
            .values(**{name: bindparam(name) for name in _STATE_COLUMNS}),
            rows,
        )

    @staticmethod
    def _known(db: Any, crm: str, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Fingerprint and state of each record already on file."""
        ids = list(dict.fromkeys(record_ids))
        found: dict[str, dict[str, Any]] = {}
        columns = [record_states.c.record_id, record_states.c.fingerprint]
        columns += [record_states.c[name] for name in _STATE_COLUMNS]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            query = select(*columns).where(record_states.c.crm == crm, record_states.c.record_id.in_(chunk))
            found.update({row.record_id: dict(row._mapping) for row in db.execute(query)})
        return found

    def history(self, crm: str, record_id: str) -> list[AuditRow]:
        query = (
            select(decisions)
            .where(decisions.c.crm == crm, decisions.c.record_id == record_id)
            .order_by(decisions.c.id)
        )
        with self._engine.connect() as db:
            return [AuditRow(**row._mapping) for row in db.execute(query)]

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
                delete(decisions).where(decisions.c.decided_at < before, decisions.c.id.not_in(latest))
            )
        if result.rowcount:
            scrub(self._engine)
        return int(result.rowcount)

    def failed(self, crm: str, object_type: str, *, limit: int) -> list[str]:
        """Ids of records whose latest entry is a failed write (oldest first): the next run reads them again,
        since its cursor has moved past them."""
        query = (
            select(record_states.c.record_id)
            .join(decisions, decisions.c.id == record_states.c.decision_id)
            .where(
                record_states.c.crm == crm,
                record_states.c.object_type == object_type,
                decisions.c.write_status == "failed",
            )
            .order_by(record_states.c.decision_id)
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
