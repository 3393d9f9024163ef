"""Pure planning: from each record's current field values and its new decision, the field updates to write.

Only values that change are written (invariant 2); ``checked`` goes along with a change, never alone. The
blast-radius guard refuses a run in which too many records would move from restrictive to permissive — the
signature of a broken mapping — before anything permissive is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.mapping.own_fields import FLAGS, decided_value, field_names
from connector.mapping.schema import WriteBack
from connector.mapping.writeback import changed_fields, checked_value, mirror_values, written_values
from connector.models import CrmName, Decision, FieldUpdate

__all__ = ["BlastRadiusGuard", "GuardVerdict", "PlannedChange", "RecordPlan", "plan_record"]


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One field of one record that will change: for the dry-run report and the audit."""

    object_type: str
    record_id: str
    field: str
    old: Any
    new: Any
    rules: tuple[str, ...]
    role: str | None = None
    """The own field's role (``do_not_cold_call``, ``lawful_use``, …); None for a mirrored field."""


@dataclass(frozen=True, slots=True)
class RecordPlan:
    update: FieldUpdate | None
    changes: tuple[PlannedChange, ...]
    loosens: bool
    """The record moves from restrictive to permissive on a channel (it was written before)."""


def _was_written(current: Mapping[str, Any], writeback: WriteBack) -> bool:
    return current.get(writeback.checked) not in (None, "")


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _loosens(current: Mapping[str, Any], decision: Decision, writeback: WriteBack) -> bool:
    if not _was_written(current, writeback):
        return False
    names = field_names(writeback)
    return any(
        decided_value(flag, decision) is flag.permissive
        and _is_true(current.get(names[flag.role])) is not flag.permissive
        for flag in FLAGS
    )


def plan_record(
    object_type: str,
    record_id: str,
    current: Mapping[str, Any],
    decision: Decision,
    *,
    writeback: WriteBack,
    crm: CrmName,
    now: datetime,
) -> RecordPlan:
    """The update for one record (None when every written value already holds) and what it changes."""
    wanted = written_values(decision, writeback, crm) | mirror_values(decision, writeback, crm)
    changed = changed_fields(current, wanted)
    if not changed:
        return RecordPlan(update=None, changes=(), loosens=False)
    rules = tuple(dict.fromkeys(reason.rule for reason in decision.reasons))
    roles = {name: role for role, name in field_names(writeback).items()}
    changes = tuple(
        PlannedChange(object_type, record_id, name, current.get(name), value, rules, roles.get(name))
        for name, value in changed.items()
    )
    values = changed | {writeback.checked: checked_value(now, crm)}
    return RecordPlan(
        update=FieldUpdate(object_type=object_type, record_id=record_id, values=values),
        changes=changes,
        loosens=_loosens(current, decision, writeback),
    )


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    allowed: bool
    pulled: int
    loosened: int
    limit: int


@dataclass(slots=True)
class BlastRadiusGuard:
    """Counts loosening records across a run; refuses once they exceed ``share`` of the records pulled.

    Checked before each page is written, on the run's totals so far including that page, so a run never writes
    more loosening changes than the share allows. ``minimum`` keeps a small incremental run (a handful of new
    consents) from tripping it. Off on a CRM's first run and when the operator accepts a large change.

    ``managed`` is the number of records already under management: an incremental run reads only the changed
    records, among which new consents are common, so its share is taken of the org, not of the few read.
    """

    share: float
    minimum: int = 20
    managed: int = 0
    enabled: bool = True
    pulled: int = 0
    loosened: int = 0
    refused: GuardVerdict | None = field(default=None)

    def limit(self) -> int:
        return max(int(self.share * max(self.pulled, self.managed)), self.minimum)

    def admit(self, plans: Iterable[RecordPlan], *, pulled: int) -> GuardVerdict:
        """Add one page's plans; the verdict says whether the page may be written."""
        self.pulled += pulled
        self.loosened += sum(1 for plan in plans if plan.loosens)
        verdict = GuardVerdict(
            allowed=not self.enabled or self.loosened <= self.limit(),
            pulled=self.pulled,
            loosened=self.loosened,
            limit=self.limit(),
        )
        if not verdict.allowed:
            self.refused = verdict
        return verdict
