"""One page of records through mapping -> policy -> plan -> write -> audit: shared by the sync and the worker."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from connector.crm.port import CrmPort, CrmRecord, WriteOutcome, completed_writes
from connector.errors import ConnectorError
from connector.mapping.facts import CompiledMapping, facts_from_record
from connector.mapping.writeback import Crm
from connector.models import ContactFacts, Decision
from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, Store
from connector.sync.plan import PlannedChange, RecordPlan, plan_record
from connector.sync.screening import PhoneScreener, PhonesToScreen

__all__ = ["Decided", "PageTally", "Pipeline"]

log = logging.getLogger("lawful_crm.sync")

ChangeSink = Callable[[PlannedChange, str], None]
"""Receives every planned change with its status (``planned``, ``written``, ``failed``, ``gone``)."""


@dataclass(frozen=True, slots=True)
class Decided:
    record: CrmRecord
    facts: ContactFacts
    decision: Decision
    plan: RecordPlan


@dataclass(slots=True)
class PageTally:
    """What happened to the records of one or more pages; adds up into a run's summary."""

    read: int = 0
    deleted: int = 0
    updates: int = 0
    written: int = 0
    failed: int = 0
    gone: int = 0
    audited: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: PageTally) -> None:
        for name in ("read", "deleted", "updates", "written", "failed", "gone", "audited"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.categories.update(other.categories)
        self.transitions.update(other.transitions)
        self.errors.update(other.errors)

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "deleted": self.deleted,
            "updates": self.updates,
            "written": self.written,
            "failed": self.failed,
            "gone": self.gone,
            "audited": self.audited,
            "categories": dict(sorted(self.categories.items())),
            "transitions": dict(sorted(self.transitions.items())),
            "errors": dict(sorted(self.errors.items())),
        }


def _flag(value: object) -> str:
    if value is None or value == "":
        return "unset"
    return str(value).lower()


@dataclass
class Pipeline:
    crm: CrmPort
    compiled: CompiledMapping
    policy: PolicySettings
    store: Store
    screener: PhoneScreener | None = None

    @property
    def crm_name(self) -> Crm:
        return self.compiled.mapping.crm

    def decide(self, records: Sequence[CrmRecord], *, today: date, now: datetime) -> list[Decided]:
        """Facts (screened against the do-not-call registers), decision and plan for each live record."""
        writeback = self.compiled.mapping.writeback
        all_facts = [self._facts(record) for record in records]
        if self.screener is not None:
            all_facts = self._screened(records, all_facts)
        decided = []
        for record, facts in zip(records, all_facts, strict=True):
            decision = evaluate(facts, now=today, settings=self.policy)
            plan = plan_record(
                record.object_type,
                record.id,
                record.fields,
                decision,
                writeback=writeback,
                crm=self.crm_name,
                now=now,
            )
            decided.append(Decided(record, facts, decision, plan))
        return decided

    def _facts(self, record: CrmRecord) -> ContactFacts:
        return facts_from_record(
            self.compiled,
            record.object_type,
            record.id,
            record.fields,
            modified=(record.created or record.modified).date(),
        )

    def _screened(self, records: Sequence[CrmRecord], all_facts: list[ContactFacts]) -> list[ContactFacts]:
        assert self.screener is not None
        phones = {}
        for record, facts in zip(records, all_facts, strict=True):
            fields = self.compiled.mapping.objects[record.object_type].phones
            numbers = [str(record.fields[p.field]) for p in fields if record.fields.get(p.field)]
            if numbers:
                phones[record.id] = PhonesToScreen(numbers=numbers, country=facts.country)
        if not phones:
            return all_facts
        found = self.screener.screen(phones)
        return [
            facts.model_copy(update={"dnc": facts.dnc + found[facts.id]}) if found.get(facts.id) else facts
            for facts in all_facts
        ]

    def apply(
        self,
        decided: Sequence[Decided],
        *,
        run_id: int,
        now: datetime,
        dry_run: bool,
        on_change: ChangeSink | None = None,
    ) -> PageTally:
        """Write the planned updates (unless a dry run), audit every decision, and tally what happened."""
        tally = PageTally(read=len(decided))
        to_write = [d for d in decided if d.plan.update is not None]
        tally.updates = len(to_write)
        outcomes: dict[str, WriteOutcome] = {}
        if to_write and not dry_run:
            try:
                results = self.crm.write([d.plan.update for d in to_write if d.plan.update is not None])
            except ConnectorError as error:
                self._audit_completed(decided, completed_writes(error), run_id=run_id, now=now)
                raise
            outcomes = {outcome.record_id: outcome for outcome in results}
        entries = []
        for item in decided:
            tally.categories[item.decision.lawful_use.value] += 1
            status = self._status(item, outcomes, dry_run=dry_run)
            self._count(tally, item, status, outcomes)
            for change in item.plan.changes:
                if on_change is not None:
                    on_change(change, status)
                flag = self._flag_names.get(change.field)
                if flag is not None and status in ("written", "planned"):
                    tally.transitions[f"{flag}: {_flag(change.old)}→{_flag(change.new)}"] += 1
            if not dry_run:
                entries.append(self._entry(item, status, outcomes.get(item.record.id)))
        if entries:
            tally.audited = self.store.audit.record(self.crm.name, run_id, entries, now=now)
        return tally

    def _audit_completed(
        self, decided: Sequence[Decided], completed: Sequence[WriteOutcome], *, run_id: int, now: datetime
    ) -> None:
        """Audit the records a write cut short did write (or refuse): the evidence must not depend on
        whether the rest of the page went through. The others are redone by the next run."""
        outcomes = {outcome.record_id: outcome for outcome in completed}
        entries = [
            self._entry(item, self._status(item, outcomes, dry_run=False), outcomes.get(item.record.id))
            for item in decided
            if item.record.id in outcomes
        ]
        if entries:
            self.store.audit.record(self.crm.name, run_id, entries, now=now)

    @staticmethod
    def _entry(item: Decided, status: str, outcome: WriteOutcome | None) -> AuditEntry:
        return AuditEntry(
            object_type=item.record.object_type,
            record_id=item.record.id,
            facts=item.facts,
            decision=item.decision,
            write_status=status,
            written=dict(item.plan.update.values) if status == "written" and item.plan.update else None,
            error_code=outcome.code if outcome is not None and not outcome.ok else None,
        )

    @cached_property
    def _flag_names(self) -> dict[str, str]:
        """CRM field name -> flag name, for the transition counts of the summary."""
        wb = self.compiled.mapping.writeback
        return {wb.do_not_cold_call: "do_not_cold_call", wb.email_allowed: "email_allowed"}

    @staticmethod
    def _status(item: Decided, outcomes: dict[str, WriteOutcome], *, dry_run: bool) -> str:
        if item.plan.update is None:
            return "unchanged"
        if dry_run:
            return "planned"
        outcome = outcomes.get(item.record.id)
        if outcome is None:
            return "failed"
        if outcome.ok:
            return "written"
        return "gone" if outcome.gone else "failed"

    @staticmethod
    def _count(tally: PageTally, item: Decided, status: str, outcomes: dict[str, WriteOutcome]) -> None:
        if status == "written":
            tally.written += 1
        elif status == "gone":
            tally.gone += 1
        elif status == "failed":
            tally.failed += 1
            outcome = outcomes.get(item.record.id)
            code = outcome.code if outcome is not None and outcome.code else "no_outcome"
            tally.errors[code] += 1
            log.warning("write failed for %s %s: %s", item.record.object_type, item.record.id, code)
