"""Records whose flags are due to be decided again without any change in the CRM.

A record is due when its decision has expired (``valid_until`` on or before the day decided as of), when it was
decided under another policy id, or when its numbers were screened against register versions that have since
changed. Such records are decided again from what the store keeps (facts, hashed numbers, the previous
decision), with no read from the CRM. Records whose last write failed are not listed here: the sync reads those
again by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from connector.store.audit import WriteStatus
from connector.store.packing import unpack
from connector.store.tables import decided_under, decisions, record_states

__all__ = ["DueRecord", "DueRecords", "DueTally", "Upcoming"]

_SETTLED = (WriteStatus.WRITTEN, WriteStatus.UNCHANGED)


@dataclass(frozen=True, slots=True)
class DueRecord:
    object_type: str
    record_id: str
    facts: Mapping[str, Any]
    decision: Mapping[str, Any]
    phones: tuple[tuple[str, int], ...] | None
    """Hashed numbers kept for the record; None when unknown (decided before the store kept them)."""


@dataclass(frozen=True, slots=True)
class DueTally:
    """How many records of one CRM are due, by cause (a record may count under several)."""

    expired: int
    policy: int
    registers: int


@dataclass(frozen=True, slots=True)
class Upcoming:
    crm: str
    object_type: str
    record_id: str
    valid_until: date
    facts: Mapping[str, Any]


class DueRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _causes(*, today: date, policy_id: str, registers: str) -> tuple[Any, Any, Any]:
        expired = and_(record_states.c.valid_until.is_not(None), record_states.c.valid_until <= today)
        current = select(decided_under.c.id).where(decided_under.c.policy_id == policy_id)
        under = record_states.c.decided_under
        policy = or_(under.is_(None), under.not_in(current))
        screened = and_(
            record_states.c.screened_with.is_not(None), record_states.c.screened_with != registers
        )
        return expired, policy, screened

    def page(
        self,
        crm: str,
        object_type: str,
        *,
        today: date,
        policy_id: str,
        registers: str,
        after: str = "",
        limit: int = 200,
    ) -> list[DueRecord]:
        """The next ``limit`` due records of one object type after record id ``after`` (keyset order)."""
        expired, policy, screened = self._causes(today=today, policy_id=policy_id, registers=registers)
        query = (
            select(
                record_states.c.object_type,
                record_states.c.record_id,
                record_states.c.phones,
                decisions.c.facts,
                decisions.c.decision,
            )
            .join(decisions, decisions.c.id == record_states.c.decision_id)
            .where(
                record_states.c.crm == crm,
                record_states.c.object_type == object_type,
                record_states.c.record_id > after,
                decisions.c.write_status.in_(_SETTLED),
                or_(expired, policy, screened),
            )
            .order_by(record_states.c.record_id)
            .limit(limit)
        )
        with self._engine.connect() as db:
            return [
                DueRecord(
                    object_type=row.object_type,
                    record_id=row.record_id,
                    facts=unpack(row.facts, row.record_id),
                    decision=unpack(row.decision, row.record_id),
                    phones=tuple((str(h), int(c)) for h, c in row.phones) if row.phones is not None else None,
                )
                for row in db.execute(query)
            ]

    def tally(self, crm: str, *, today: date, policy_id: str, registers: str) -> DueTally:
        """How many records are due and why (for the run's announcement)."""
        expired, policy, screened = self._causes(today=today, policy_id=policy_id, registers=registers)
        counts = [func.count().filter(cause) for cause in (expired, policy, screened)]
        query = select(*counts).where(record_states.c.crm == crm)
        with self._engine.connect() as db:
            row = db.execute(query).one()
        return DueTally(expired=int(row[0]), policy=int(row[1]), registers=int(row[2]))

    def upcoming(self, crm: str | None, *, start: date, end: date) -> list[Upcoming]:
        """Records whose decision expires on a day from ``start`` to ``end``, with their facts (store only)."""
        query = (
            select(
                record_states.c.crm,
                record_states.c.object_type,
                record_states.c.record_id,
                record_states.c.valid_until,
                decisions.c.facts,
            )
            .join(decisions, decisions.c.id == record_states.c.decision_id)
            .where(record_states.c.valid_until >= start, record_states.c.valid_until <= end)
            .order_by(record_states.c.valid_until)
        )
        if crm is not None:
            query = query.where(record_states.c.crm == crm)
        with self._engine.connect() as db:
            return [
                Upcoming(
                    row.crm, row.object_type, row.record_id, row.valid_until, unpack(row.facts, row.record_id)
                )
                for row in db.execute(query)
            ]
