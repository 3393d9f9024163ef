"""One page of records through mapping -> policy -> plan -> write -> audit: shared by the sync and the worker."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import ValidationError

from connector.crm.port import CrmPort, CrmRecord, FieldUpdate, WriteInterrupted, WriteOutcome
from connector.mapping.facts import CompiledMapping, RecordReading, read_record
from connector.mapping.own_fields import flag_names
from connector.mapping.writeback import mirror_values, written_values
from connector.models import ContactFacts, CrmName, Decision
from connector.policy import PolicySettings, evaluate
from connector.store import AuditEntry, DueRecord, Grounds, Store, WriteStatus
from connector.store.kept import Kept
from connector.sync.plan import RecordPlan, plan_record
from connector.sync.screening import HashedNumber, PhoneScreener, PhonesToScreen

if TYPE_CHECKING:
    from connector.sync.buffer import WriteBuffer

__all__ = ["Decided", "Held", "PageTally", "Pipeline"]

log = logging.getLogger("lawful_crm.sync")


@dataclass(frozen=True, slots=True)
class Decided:
    record: CrmRecord
    facts: ContactFacts
    decision: Decision
    plan: RecordPlan
    grounds: Grounds = field(default_factory=Grounds)


@dataclass(frozen=True, slots=True)
class Held:
    """A change held by the run's write buffer (`buffer.py`): the update, its pending entry, the flag transitions."""

    update: FieldUpdate
    entry_id: int
    transitions: tuple[str, ...] = ()
    if_failed: str = ""
    """The record's fingerprint should the write fail (``Audit.record(if_failed=...)``)."""


ChangeSink = Callable[[Decided, WriteStatus], None]
"""Receives every record whose written values change, with its status (``planned``, ``written``, ``failed``,
``gone``); its plan lists the changed fields."""


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
    review: int = 0
    """Decisions that ask a person to look (``review_needed``)."""
    categories: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: PageTally) -> None:
        for name in ("read", "deleted", "updates", "written", "failed", "gone", "audited", "review"):
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
            "review": self.review,
            "categories": dict(sorted(self.categories.items())),
            "transitions": dict(sorted(self.transitions.items())),
            "errors": dict(sorted(self.errors.items())),
        }


_SENT = frozenset({WriteStatus.WRITTEN, WriteStatus.PENDING})
"""The statuses whose audit entry holds the values sent."""


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
    def crm_name(self) -> CrmName:
        return self.compiled.mapping.crm

    @cached_property
    def registers_version(self) -> str | None:
        """The register versions in use when this pipeline started (read before any screening, so a record
        is never stamped with versions newer than those it was screened against)."""
        return self.screener.version() if self.screener is not None else None

    def decide(self, records: Sequence[CrmRecord], *, today: date, now: datetime) -> list[Decided]:
        """Facts (screened against the do-not-call registers), decision and plan for each live record."""
        version = self.registers_version
        readings = [self._read(record) for record in records]
        numbers = self._numbers(readings)
        found = self.screener.screen_numbers(numbers) if self.screener is not None and numbers else {}
        decided = []
        for record, reading in zip(records, readings, strict=True):
            facts = reading.facts(dnc=found.get(record.id, ()))
            phones = numbers.get(record.id, ()) if self.screener is not None else None
            grounds = Grounds(self.compiled.digest, version, phones)
            decided.append(self._decided(record, facts, grounds, today=today, now=now))
        return decided

    def redecide(
        self, due: Sequence[DueRecord], *, today: date, now: datetime
    ) -> tuple[list[Decided], list[str]]:
        """Decide again from what the store keeps, with no read from the CRM: the stored facts, screened
        again from the kept number hashes, planned against the values the previous decision left in the CRM.

        A record edited in the CRM since is not affected: the incremental pull, which runs first, has read it
        and stored its new state, so it is no longer due. Returns the decided records and the ids of those whose
        stored entry can no longer be read (an older model): the caller reads those from the CRM instead."""
        version = self.registers_version
        decided = []
        unreadable = []
        for item in due:
            try:
                facts = ContactFacts.model_validate(item.facts)
                previous = Decision.model_validate(item.decision)
            except ValidationError:
                unreadable.append(item.record_id)
                continue
            if item.phones is not None and self.screener is not None:
                facts = facts.model_copy(update={"dnc": ()})
            record = CrmRecord(
                object_type=item.object_type,
                id=item.record_id,
                fields=self._shown(previous),
                modified=now,
            )
            decided.append((record, facts, item.phones))
        screen = {record.id: phones for record, _, phones in decided if phones}
        found = self.screener.screen_numbers(screen) if self.screener is not None and screen else {}
        return [
            self._decided(
                record,
                facts.model_copy(update={"dnc": found[record.id]}) if record.id in found else facts,
                Grounds(self.compiled.digest, version if phones is not None else None, phones),
                today=today,
                now=now,
            )
            for record, facts, phones in decided
        ], unreadable

    def _shown(self, decision: Decision) -> dict[str, object]:
        """The connector's fields as a settled decision left them in the CRM (``checked`` set: written)."""
        writeback, crm = self.compiled.mapping.writeback, self.crm_name
        shown: dict[str, object] = written_values(decision, writeback, crm) | mirror_values(
            decision, writeback, crm
        )
        shown[writeback.checked] = "set"
        return shown

    def _decided(
        self, record: CrmRecord, facts: ContactFacts, grounds: Grounds, *, today: date, now: datetime
    ) -> Decided:
        decision = evaluate(facts, now=today, settings=self.policy)
        plan = plan_record(
            record.object_type,
            record.id,
            record.fields,
            decision,
            writeback=self.compiled.mapping.writeback,
            crm=self.crm_name,
            now=now,
        )
        return Decided(record, facts, decision, plan, grounds)

    def _read(self, record: CrmRecord) -> RecordReading:
        return read_record(
            self.compiled,
            record.object_type,
            record.id,
            record.fields,
            modified=(record.created or record.modified).date(),
        )

    def _numbers(self, readings: Sequence[RecordReading]) -> dict[str, tuple[HashedNumber, ...]]:
        """Each record's valid phone numbers as keyed hashes (empty without a screener)."""
        if self.screener is None:
            return {}
        phones = {
            reading.record_id: PhonesToScreen(numbers=reading.phones, country=reading.country)
            for reading in readings
            if reading.phones
        }
        return self.screener.numbers(phones) if phones else {}

    def apply(
        self,
        decided: Sequence[Decided],
        *,
        run_id: int,
        now: datetime,
        dry_run: bool,
        on_change: ChangeSink | None = None,
        buffer: WriteBuffer | None = None,
    ) -> PageTally:
        """Write the planned updates (unless a dry run), audit every decision, and tally what happened.

        Each record to write gets a pending audit entry, committed before the write is sent, which its
        outcome settles; a process killed in between leaves it for the next run to settle. With a `buffer`,
        the updates are held for it to write (in bulk past the CRM's threshold) instead: their pending entries are
        kept with the page's other entries in one transaction (`Audit.hold`) and stay pending until the buffer
        settles them (`buffer.py`)."""
        tally = PageTally(read=len(decided))
        to_write = [d for d in decided if d.plan.update is not None]
        tally.updates = len(to_write)
        outcomes: dict[str, WriteOutcome] = {}
        pending: dict[str, int] = {}
        held: set[str] = set()
        intents: dict[str, AuditEntry] = {}
        if to_write and not dry_run:
            intents = {item.record.id: self._entry(item, WriteStatus.PENDING, None) for item in to_write}
            if buffer is not None:  # kept pending with the page's other entries, below
                buffer.admit(len(to_write))
                held = {d.record.id for d in to_write}
            else:
                pending = self.store.audit.intend(self.crm.name, run_id, list(intents.values()), now=now)
        if to_write and not dry_run and not held:
            try:
                results = self.crm.write([d.plan.update for d in to_write if d.plan.update is not None])
            except WriteInterrupted as cut:
                self._audit_completed(decided, cut.completed, pending, run_id=run_id, now=now)
                raise cut.reason from cut
            outcomes = {outcome.record_id: outcome for outcome in results}
        entries = []
        for item in decided:
            tally.categories[item.decision.lawful_use.value] += 1
            tally.review += item.decision.review_needed
            status = (
                WriteStatus.PENDING
                if item.record.id in held
                else self._status(item, outcomes, dry_run=dry_run)
            )
            self._count(tally, item, status, outcomes)
            if on_change is not None and item.plan.changes:
                on_change(item, status)
            if status in (WriteStatus.WRITTEN, WriteStatus.PLANNED):
                tally.transitions.update(self._transitions(item))
            if not dry_run:
                entries.append(
                    self._entry(item, status, outcomes.get(item.record.id), intents.get(item.record.id))
                )
        if_failed: dict[str, str] = {}
        if held:
            pending, tally.audited = self.store.audit.hold(
                self.crm.name, run_id, list(intents.values()), entries, now=now, if_failed=if_failed
            )
        elif entries:
            tally.audited = self.store.audit.record(
                self.crm.name, run_id, entries, now=now, pending=pending, if_failed=if_failed
            )
        if held and buffer is not None:  # after their entries are recorded pending: a flush settles them
            buffer.hold(
                [
                    Held(
                        d.plan.update,
                        pending[d.record.id],
                        tuple(self._transitions(d)),
                        if_failed[d.record.id],
                    )
                    for d in to_write
                    if d.plan.update is not None
                ]
            )
        return tally

    def _audit_completed(
        self,
        decided: Sequence[Decided],
        completed: Sequence[WriteOutcome],
        pending: dict[str, int],
        *,
        run_id: int,
        now: datetime,
    ) -> None:
        """Audit the records a write cut short did write (or refuse): the evidence must not depend on
        whether the rest of the page went through. The others stay pending: the next run reads them back,
        settles their entries, and decides them again."""
        outcomes = {outcome.record_id: outcome for outcome in completed}
        entries = [
            self._entry(item, self._status(item, outcomes, dry_run=False), outcomes.get(item.record.id))
            for item in decided
            if item.record.id in outcomes
        ]
        if entries:
            self.store.audit.record(self.crm.name, run_id, entries, now=now, pending=pending)

    def _transitions(self, item: Decided) -> list[str]:
        """The flag transitions a record's changes make (`flag: old→new`), for the summary."""
        return [
            sys.intern(
                f"{flag}: {_flag(change.old)}→{_flag(change.new)}"
            )  # a few distinct keys, held by many
            for change in item.plan.changes
            if (flag := self._flag_names.get(change.field)) is not None
        ]

    @staticmethod
    def _entry(
        item: Decided, status: WriteStatus, outcome: WriteOutcome | None, intent: AuditEntry | None = None
    ) -> AuditEntry:
        """The audit entry of a decided record; a failed write the CRM refused for its values is ``refused``.
        Made from the record's pending entry (``intent``) when it has one, whose stored facts and decision it
        shares."""
        refused = outcome is not None and outcome.refused
        write_status = WriteStatus.REFUSED if refused else status
        written = dict(item.plan.update.values) if status in _SENT and item.plan.update else None
        error_code = outcome.code if outcome is not None and not outcome.ok else None
        return AuditEntry(
            object_type=item.record.object_type,
            record_id=item.record.id,
            facts=item.facts,
            decision=item.decision,
            write_status=write_status,
            written=written,
            error_code=error_code,
            grounds=item.grounds,
            kept=intent.kept if intent is not None else Kept(),
        )

    @cached_property
    def _flag_names(self) -> dict[str, str]:
        """CRM field name -> flag name, for the transition counts of the summary."""
        return dict(flag_names(self.compiled.mapping.writeback))

    @staticmethod
    def _status(item: Decided, outcomes: dict[str, WriteOutcome], *, dry_run: bool) -> WriteStatus:
        if item.plan.update is None:
            return WriteStatus.UNCHANGED
        if dry_run:
            return WriteStatus.PLANNED
        outcome = outcomes.get(item.record.id)
        if outcome is None:
            return WriteStatus.FAILED
        if outcome.ok:
            return WriteStatus.WRITTEN
        return WriteStatus.GONE if outcome.gone else WriteStatus.FAILED

    @staticmethod
    def _count(
        tally: PageTally, item: Decided, status: WriteStatus, outcomes: dict[str, WriteOutcome]
    ) -> None:
        if status == WriteStatus.WRITTEN:
            tally.written += 1
        elif status == WriteStatus.GONE:
            tally.gone += 1
        elif status == WriteStatus.FAILED:
            tally.failed += 1
            outcome = outcomes.get(item.record.id)
            code = outcome.code if outcome is not None and outcome.code else "no_outcome"
            tally.errors[code] += 1
            log.warning("write failed for %s %s: %s", item.record.object_type, item.record.id, code)
