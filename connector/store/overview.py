"""Counts over the current decisions of a CRM, for the admin's view: categories, review backlog, dead letters.

Counts only: no record id or fact leaves these queries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from connector.store.queue import EventStatus
from connector.store.tables import decisions, events, record_states

__all__ = ["DecisionCounts", "dead_letter_codes", "decision_counts"]


@dataclass(frozen=True, slots=True)
class DecisionCounts:
    """The records a CRM has under management, by the category of their current decision."""

    categories: Counter[str] = field(default_factory=Counter)
    review: int = 0
    """Records whose current decision asks a person to look (``review_needed``): the review backlog."""

    @property
    def managed(self) -> int:
        return sum(self.categories.values())


def decision_counts(engine: Engine, crm: str) -> DecisionCounts:
    """Categories and review backlog of the current decision of every record of ``crm``."""
    category = decisions.c.lawful_use
    review = decisions.c.review_needed
    query = (
        select(category, review, func.count())
        .select_from(record_states.join(decisions, decisions.c.id == record_states.c.decision_id))
        .where(record_states.c.crm == crm)
        .group_by(category, review)
    )
    categories: Counter[str] = Counter()
    backlog = 0
    with engine.connect() as db:
        for row in db.execute(query):
            name, needs_review, count = row[0], row[1], int(row[2])
            categories[str(name)] += count
            backlog += count if needs_review else 0
    return DecisionCounts(categories, backlog)


def dead_letter_codes(engine: Engine, crm: str) -> Counter[str]:
    """Dead webhook events of ``crm`` by the error code that killed them."""
    query = (
        select(events.c.error_code, func.count())
        .where(events.c.crm == crm, events.c.status == EventStatus.DEAD)
        .group_by(events.c.error_code)
    )
    with engine.connect() as db:
        return Counter({str(row[0] or "unknown"): int(row[1]) for row in db.execute(query)})
